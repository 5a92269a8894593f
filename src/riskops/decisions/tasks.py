"""The risk consumer: payments from `transactions.inbound.v1` through the decision pipeline.

Stream-ingested payments get everything an API payment gets (decision, ledger entry, audit,
their own events). The event id is the idempotency key: the pipeline's (account, key) unique
constraint commits with all the effects, so a redelivered event replays the stored decision.
"""

import asyncio
from collections.abc import Sequence

from pydantic import ValidationError

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.decisions.pipeline import DecisionPipeline
from riskops.decisions.requests import TransactionCreate
from riskops.events.consumer import Consumer, Incoming, PoisonMessage
from riskops.events.envelope import INBOUND_TOPIC, TRANSACTION_SUBMITTED

STREAM = Principal(key_id="stream:" + INBOUND_TOPIC, name="risk consumer", role=Role.SERVICE)


class RiskConsumer(Consumer):
    name = "risk"
    topics = (INBOUND_TOPIC,)
    accepts = frozenset({TRANSACTION_SUBMITTED})

    def __init__(self, pipeline: DecisionPipeline) -> None:
        self.pipeline = pipeline

    async def handle(self, item: Incoming) -> None:
        try:
            request = TransactionCreate.model_validate(item.data)
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            raise PoisonMessage(f"{field}: {first['msg']}", {"field": field}) from error
        await self.pipeline.submit(request, item.id, STREAM)

    async def handle_batch(self, items: Sequence[Incoming]) -> list[BaseException | None]:
        # Concurrent submissions share the writer's group commits, as concurrent requests do.
        outcomes = await asyncio.gather(*(self.handle(i) for i in items), return_exceptions=True)
        return [o if isinstance(o, BaseException) else None for o in outcomes]
