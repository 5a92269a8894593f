"""The one door through which labels are stored: the labels consumer and any API use it.

Label-aware features (e.g. a terminal's fraud rate) hook in here with `LabelService.hooks`:
each hook runs in the transaction that stores the label, only for labels stored for the
first time, so a redelivered event never counts twice.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.ids import new_id
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.decisions.models import Transaction
from riskops.labels import repository
from riskops.labels.models import Label
from riskops.labels.schemas import LabelCreate

labels = table_of(Label)
transactions = table_of(Transaction)


@dataclass(frozen=True, slots=True)
class StoredLabel:
    id: str
    transaction_id: str
    label: int
    source: str
    labelled_at: datetime
    event_id: str | None


LabelHook = Callable[[AsyncConnection, StoredLabel], Awaitable[None]]


class LabelService:
    def __init__(self) -> None:
        self.hooks: list[LabelHook] = []

    async def store(
        self, connection: AsyncConnection, label: LabelCreate, event_id: str | None = None
    ) -> StoredLabel | None:
        """Store a label in the caller's transaction; None if this event was stored before."""
        label_id = new_id()
        row = {
            "id": label_id,
            "transaction_id": label.transaction_id,
            "label": label.label,
            "source": label.source.value,
            "labelled_at": label.labelled_at,
            "created_at": utcnow(),
            "event_id": event_id,
        }
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(labels)
            .values(row)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(labels.c.id)
        )
        if (await connection.execute(statement)).scalar() is None:
            return None
        stored = StoredLabel(
            label_id,
            label.transaction_id,
            label.label,
            label.source.value,
            label.labelled_at,
            event_id,
        )
        for hook in self.hooks:
            await hook(connection, stored)
        return stored

    @staticmethod
    async def find_transaction(
        connection: AsyncConnection, account_id: str, idempotency_key: str
    ) -> str | None:
        """The transaction a payment submitted with this account and key became, if stored."""
        found = await connection.scalar(
            select(transactions.c.id).where(
                transactions.c.account_id == account_id,
                transactions.c.idempotency_key == idempotency_key,
            )
        )
        return str(found) if found is not None else None


async def labels_of(connection: AsyncConnection, transaction_id: str) -> list[dict[str, Any]]:
    """A transaction's labels, oldest first, as the API and the console show them."""
    return await repository.labels_of(connection, transaction_id)
