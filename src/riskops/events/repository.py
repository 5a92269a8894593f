"""Processed-event records: the exactly-once half of at-least-once delivery."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.models import ProcessedEvent

processed_events = table_of(ProcessedEvent)


async def claim_events(
    connection: AsyncConnection, consumer: str, event_ids: Sequence[str]
) -> set[str]:
    """Record `event_ids` as processed by `consumer`; return those not processed before.

    Call it in the transaction that applies the effects: if that rolls back, so does the claim.
    """
    if not event_ids:
        return set()
    now = utcnow()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(processed_events)
        .values(
            [
                {"consumer": consumer, "event_id": e, "processed_at": now}
                for e in dict.fromkeys(event_ids)
            ]
        )
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(processed_events.c.event_id)
    )
    return set((await connection.execute(statement)).scalars())


async def was_processed(connection: AsyncConnection, consumer: str, event_id: str) -> bool:
    found = await connection.scalar(
        select(processed_events.c.event_id).where(
            processed_events.c.consumer == consumer, processed_events.c.event_id == event_id
        )
    )
    return found is not None
