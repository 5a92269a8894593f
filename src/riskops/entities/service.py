"""Entity views for the API and the console: what is known about one card, account, device,
merchant or IP."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound
from riskops.entities import repository
from riskops.entities.repository import EntityKind

__all__ = ["EntityKind", "activity", "recent", "summary"]


async def summary(
    connection: AsyncConnection, kind: EntityKind, entity_id: str, now: datetime
) -> dict[str, Any]:
    """Totals, windows, outcomes, labels, links and open cases; 404 for an unseen entity."""
    found = await repository.summary(connection, kind, entity_id, now)
    if found is None:
        raise NotFound(
            f"no payments of {kind.value} {entity_id}", {"kind": kind.value, "id": entity_id}
        )
    return found


async def recent(
    connection: AsyncConnection,
    kind: EntityKind,
    entity_id: str,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    return await repository.recent(connection, kind, entity_id, limit, since, until)


async def activity(
    connection: AsyncConnection, kind: EntityKind, entity_id: str, now: datetime
) -> dict[str, Any]:
    """Window counts and amounts up to `now` and linked entities (zeros for an unseen one)."""
    return await repository.activity(connection, kind, entity_id, now)
