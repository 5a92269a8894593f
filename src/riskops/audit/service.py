"""Record administrative actions and read them back, newest first, a keyset page at a time.

Callers pass the connection of the transaction that makes the change, so the change and its
audit row commit together. Changes outside our database (model aliases in MLflow) are
recorded right after the outside change succeeded.
"""

import getpass
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import repository
from riskops.audit.repository import AuditFilter
from riskops.core.errors import BadRequest
from riskops.core.ids import new_id
from riskops.db.types import utcnow

__all__ = ["SYSTEM", "Actor", "AdminAction", "AuditFilter", "cli_actor", "list_entries", "record"]


class AdminAction(StrEnum):
    KEY_CREATED = "api_key.created"
    KEY_REVOKED = "api_key.revoked"
    MODEL_ALIAS_SET = "model.alias_set"
    MODEL_ALIAS_CLEARED = "model.alias_cleared"
    MODEL_PROMOTED = "model.promoted"
    MODEL_PROMOTED_FORCED = "model.promoted_forced"  # a failing gate was overridden
    MODEL_ROLLED_BACK = "model.rolled_back"
    CASE_OPENED = "case.opened"
    CASE_JOINED = "case.transaction_added"  # a payment of the same card joined the case
    CASE_ASSIGNED = "case.assigned"
    CASE_NOTE_ADDED = "case.note_added"
    CASE_DISPOSED = "case.disposed"
    CASE_REOPENED = "case.reopened"
    TRANSACTION_LABELLED = "transaction.labelled"
    LABELS_IMPORTED = "labels.imported"


@dataclass(frozen=True, slots=True)
class Actor:
    id: str  # an API key id, "cli:<os user>" or "system"
    name: str


SYSTEM = Actor("system", "RiskOps")


def cli_actor() -> Actor:
    """Whoever runs the `riskops` command on this machine (the CLI holds no API key)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}"[:64], "riskops CLI")


async def record(
    connection: AsyncConnection,
    actor: Actor,
    action: AdminAction,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> str:
    """Insert one audit row in the caller's transaction; returns its id."""
    entry_id = new_id()
    await repository.insert_entry(
        connection,
        {
            "id": entry_id,
            "at": utcnow(),
            "actor": actor.id,
            "actor_name": actor.name,
            "action": action.value,
            "target": target,
            "before": before,
            "after": after,
        },
    )
    return entry_id


async def list_entries(
    connection: AsyncConnection,
    where: AuditFilter,
    limit: int,
    cursor: str | None,
    page_size_max: int,
) -> tuple[list[dict[str, Any]], str | None]:
    for name, value in (("from", where.at_from), ("to", where.at_to)):
        if value is not None and value.tzinfo is None:
            raise BadRequest(f"`{name}` needs a timezone offset", {"field": name})
    if where.at_from and where.at_to and where.at_from > where.at_to:
        raise BadRequest("`from` must not be after `to`", {"field": "from"})
    return await repository.list_entries(connection, where, min(limit, page_size_max), cursor)
