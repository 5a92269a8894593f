"""Enqueue an event in the caller's transaction: the relay publishes it after the commit.

The hot path batches its outbox rows itself (decisions/writer.py); everything else that
changes state and tells the world about it writes one row here, beside its own rows.
"""

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.envelope import outbox_row
from riskops.events.models import OutboxEvent

outbox = table_of(OutboxEvent)


async def enqueue(connection: AsyncConnection, topic: str, key: str, event: dict[str, Any]) -> None:
    await connection.execute(insert(outbox).values(outbox_row(topic, key, event, utcnow())))
