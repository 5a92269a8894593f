"""Labels made here (analysts, dispositions, chargeback files) are stored AND published.

The label row and its `labels.v1` event commit in one transaction; the label's `event_id` is
the event's own id, so when the labels consumer reads our event back it finds the label
stored already and does nothing (one label, one hook call, one feature update).
"""

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from riskops.db.base import table_of
from riskops.decisions.models import Transaction
from riskops.events.envelope import LABELS_TOPIC, TRANSACTION_LABELLED, cloud_event
from riskops.events.outbox import enqueue
from riskops.labels.schemas import LabelCreate
from riskops.labels.service import LabelService, StoredLabel

SOURCE = "riskops/labels"
transactions = table_of(Transaction)


def derived_event_id(*parts: str) -> str:
    """An event id fixed by its inputs: the same label given twice (a rerun of one chargeback
    file) gets the same id, which the labels table refuses to store twice."""
    return str(ULID.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:16]))


async def label_and_publish(
    connection: AsyncConnection,
    service: LabelService,
    label: LabelCreate,
    event_id: str | None = None,
) -> StoredLabel | None:
    """Store `label` and enqueue its event; None if a label with this event id exists."""
    event = cloud_event(
        event_type=TRANSACTION_LABELLED,
        source=SOURCE,
        subject=label.transaction_id,
        time=label.labelled_at,
        data={
            "transaction_id": label.transaction_id,
            "label": label.label,
            "source": label.source.value,
            "labelled_at": label.labelled_at.isoformat().replace("+00:00", "Z"),
        },
    )
    if event_id is not None:
        event["id"] = event_id
    stored = await service.store(connection, label, event_id=event["id"])
    if stored is None:
        return None
    # Keyed by account like every event, so one account's events keep their order.
    account = await connection.scalar(
        select(transactions.c.account_id).where(transactions.c.id == label.transaction_id)
    )
    await enqueue(connection, LABELS_TOPIC, str(account or label.transaction_id), event)
    return stored


async def transaction_exists(connection: AsyncConnection, transaction_id: str) -> bool:
    found = await connection.scalar(
        select(transactions.c.id).where(transactions.c.id == transaction_id)
    )
    return found is not None
