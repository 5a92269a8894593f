"""Labels into the online store: the merchant fraud-rate windows learn from stored labels.

`LabelService` runs this hook for every label it stores for the first time (any source:
the labels consumer, the API, backfills). The store needs the payment's merchant and event
time, which the label does not carry: they come from the transactions table. A label for a
transaction this database never saw (a backfill of foreign history) feeds nothing.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.decisions.models import Transaction
from riskops.features.store import OnlineStore
from riskops.labels.service import LabelHook, StoredLabel

transactions = table_of(Transaction)


def label_feeder(store: OnlineStore) -> LabelHook:
    """A LabelService hook that records each stored label in the store's merchant windows."""

    async def feed(connection: AsyncConnection, label: StoredLabel) -> None:
        row = (
            await connection.execute(
                select(transactions.c.merchant_id, transactions.c.occurred_at).where(
                    transactions.c.id == label.transaction_id
                )
            )
        ).first()
        if row is None:
            return
        # Idempotent in the store, so a label stored again after a rollback counts once.
        await store.record_label(
            label.transaction_id, row.merchant_id, row.occurred_at, fraud=label.label == 1
        )

    return feed
