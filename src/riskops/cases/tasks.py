"""The cases consumer: every review decision opens (or joins) a case, exactly once.

It reads `riskops.risk.assessed.v1` from the outbox rather than opening cases inside the
decision's transaction, so the hot path writes nothing more. A payment belongs to at most one
case (a unique constraint), so a redelivered event finds its case and does nothing.
"""

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.cases import service
from riskops.cases.service import CasePolicy
from riskops.core.outcome import Outcome
from riskops.db import transaction
from riskops.events.consumer import Consumer, Incoming, PoisonMessage
from riskops.events.envelope import ASSESSMENTS_TOPIC, RISK_ASSESSED


class CasesConsumer(Consumer):
    name = "cases"
    topics = (ASSESSMENTS_TOPIC,)
    accepts = frozenset({RISK_ASSESSED})

    def __init__(self, engine: AsyncEngine, policy: CasePolicy) -> None:
        self.engine = engine
        self.policy = policy

    async def handle(self, item: Incoming) -> None:
        if item.data.get("status") != Outcome.REVIEW:
            return
        transaction_id = item.data.get("transaction_id")
        if not transaction_id:
            raise PoisonMessage("a risk assessment without a transaction id")
        async with transaction(self.engine) as connection:
            await service.open_for_review(connection, str(transaction_id), self.policy)
