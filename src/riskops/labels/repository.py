"""Reads of stored labels."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.labels.models import Label

labels = table_of(Label)


async def labels_of(connection: AsyncConnection, transaction_id: str) -> list[dict[str, Any]]:
    """A transaction's labels, oldest first, as the API shows them."""
    rows = await connection.execute(
        select(labels.c.id, labels.c.label, labels.c.source, labels.c.labelled_at)
        .where(labels.c.transaction_id == transaction_id)
        .order_by(labels.c.labelled_at, labels.c.id)
    )
    return [
        {
            "id": r.id,
            "label": "fraud" if r.label == 1 else "legitimate",
            "source": r.source,
            "labelled_at": r.labelled_at,
        }
        for r in rows
    ]
