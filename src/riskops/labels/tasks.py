"""The labels consumer: fraud outcomes from `labels.v1` stored once each."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.errors import Unavailable
from riskops.db import transaction
from riskops.events.consumer import Consumer, Incoming, PoisonMessage
from riskops.events.envelope import LABELS_TOPIC, TRANSACTION_LABELLED
from riskops.labels.schemas import LabelCreate
from riskops.labels.service import LabelService


class LabelTargetPending(Unavailable):
    """The labelled payment is not stored yet (its stream event may still be in flight)."""

    code = "label_target_pending"


class LabelsConsumer(Consumer):
    name = "labels"
    topics = (LABELS_TOPIC,)
    accepts = frozenset({TRANSACTION_LABELLED})

    def __init__(self, engine: AsyncEngine, service: LabelService) -> None:
        self.engine = engine
        self.service = service

    async def handle(self, item: Incoming) -> None:
        data = item.data
        # labels.event_id is unique: the label row itself is the processed-event record.
        async with transaction(self.engine) as connection:
            transaction_id = data.get("transaction_id")
            if not transaction_id:
                transaction_id = await self.service.find_transaction(
                    connection, data["account_id"], data["idempotency_key"]
                )
                if transaction_id is None:
                    # Retried with backoff, then dead-lettered; `riskops replay` re-drives it.
                    raise LabelTargetPending(
                        f"no transaction for account {data['account_id']} and key "
                        f"{data['idempotency_key']} yet",
                        {"event_id": item.id},
                    )
            try:
                label = LabelCreate(
                    transaction_id=transaction_id,
                    label=data["label"],
                    source=data["source"],
                    labelled_at=data["labelled_at"],
                )
            except ValidationError as error:
                raise PoisonMessage(f"invalid label: {error.errors()[0]['msg']}") from error
            await self.service.store(connection, label, event_id=item.id)
