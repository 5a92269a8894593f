"""Lists as the API and CLI change them: validated whole, audited, never committed here."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.service import Actor, AdminAction
from riskops.core.errors import Conflict, NotFound, Unprocessable
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.lists import repository
from riskops.lists.values import stored_value
from riskops.rules.lists import ListKind, ListPurpose, ListSnapshot


class ListNotFound(NotFound):
    code = "list_not_found"


class ListExists(Conflict):
    code = "list_exists"


class EntryNotFound(NotFound):
    code = "list_entry_not_found"


class InvalidEntries(Unprocessable):
    code = "list_entries_invalid"


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "kind": row["kind"],
        "purpose": row["purpose"],
        "description": row["description"],
        "entries": int(row.get("entries", 0)),
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
    }


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    expires = row["expires_at"]
    return {
        "value": row["value"],
        "reason": row["reason"],
        "expires_at": expires.isoformat() if expires else None,
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
    }


async def lists(connection: AsyncConnection) -> list[dict[str, Any]]:
    return [_public(row) for row in await repository.all_lists(connection, utcnow())]


async def _list(connection: AsyncConnection, name: str) -> dict[str, Any]:
    row = await repository.get_list(connection, name)
    if row is None:
        raise ListNotFound(f"no list named '{name}'", {"name": name})
    return row


async def create_list(
    connection: AsyncConnection,
    actor: Actor,
    name: str,
    kind: ListKind,
    purpose: ListPurpose,
    description: str,
) -> dict[str, Any]:
    if await repository.get_list(connection, name) is not None:
        raise ListExists(f"a list named '{name}' exists", {"name": name})
    row = {
        "name": name,
        "kind": kind.value,
        "purpose": purpose.value,
        "description": description,
        "created_by": actor.id,
        "created_at": utcnow(),
    }
    await repository.insert_list(connection, row)
    await repository.bump_version(connection)
    created = _public(row)
    await audit.record(connection, actor, AdminAction.LIST_CREATED, f"list:{name}", None, created)
    return created


async def entries(
    connection: AsyncConnection, name: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    await _list(connection, name)
    rows = await repository.entries(connection, name, after, limit + 1)
    page = [_entry(row) for row in rows[:limit]]
    return page, (page[-1]["value"] if len(rows) > limit else None)


async def add_entries(
    connection: AsyncConnection,
    actor: Actor,
    name: str,
    values: Sequence[str],
    reason: str,
    expires_at: datetime | None,
    secret: bytes,
    *,
    token_ok: bool = False,
) -> dict[str, Any]:
    """Add (or renew: new reason and expiry) every value, or none if any is invalid.

    `token_ok`: cards may be given as their token (a recommendation knows only that)."""
    found = await _list(connection, name)
    kind = ListKind(found["kind"])
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidEntries("expires_at is in the past", {"errors": [{"field": "expires_at"}]})
    stored: list[str] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(values):
        try:
            stored.append(stored_value(kind, raw, secret, token_ok=token_ok))
        except ValueError as exc:
            errors.append({"index": index, "reason": str(exc)})
    if errors:
        raise InvalidEntries(
            f"{len(errors)} of {len(values)} values refused; nothing was added",
            {"errors": errors},
        )
    unique = list(dict.fromkeys(stored))
    existing = await repository.existing_values(connection, name, unique)
    fresh = [v for v in unique if v not in existing]
    await repository.insert_entries(
        connection,
        [
            {
                "id": new_id(),
                "list_name": name,
                "value": value,
                "reason": reason,
                "expires_at": expires_at,
                "created_by": actor.id,
                "created_at": now,
            }
            for value in fresh
        ],
    )
    for row in existing.values():
        await repository.update_entry(
            connection, row["id"], {"reason": reason, "expires_at": expires_at}
        )
    await repository.bump_version(connection)
    expiry = expires_at.isoformat() if expires_at else None
    after = {"added": fresh, "renewed": list(existing), "reason": reason, "expires_at": expiry}
    before = {"renewed": {v: _entry(row) for v, row in existing.items()}} if existing else None
    await audit.record(
        connection, actor, AdminAction.LIST_ENTRIES_ADDED, f"list:{name}", before, after
    )
    return {"list": name, "added": fresh, "renewed": list(existing)}


async def remove_entry(
    connection: AsyncConnection, actor: Actor, name: str, raw: str, secret: bytes
) -> None:
    found = await _list(connection, name)
    try:
        value = stored_value(ListKind(found["kind"]), raw, secret, token_ok=True)
    except ValueError as exc:
        raise EntryNotFound(f"no such entry in '{name}': {exc}", {"name": name}) from exc
    existing = await repository.existing_values(connection, name, [value])
    if value not in existing:
        raise EntryNotFound(f"no such entry in '{name}'", {"name": name})
    await repository.delete_entry(connection, existing[value]["id"])
    await repository.bump_version(connection)
    before = _entry(existing[value])
    await audit.record(
        connection, actor, AdminAction.LIST_ENTRY_REMOVED, f"list:{name}", before, None
    )


LiveLists = dict[str, tuple[ListKind, list[str]]]


async def live_lists(connection: AsyncConnection) -> tuple[LiveLists, str, datetime | None]:
    """Every list's live entries (what `ListSnapshot.build` takes), the version they are
    at, and when the next entry expires."""
    version = await repository.version(connection)
    kinds, rows, next_expiry = await repository.live_entries(connection, utcnow())
    lists: LiveLists = {name: (ListKind(kind), []) for name, kind in kinds}
    for name, value in rows:
        lists[name][1].append(value)
    return lists, str(version), next_expiry


async def snapshot(connection: AsyncConnection) -> ListSnapshot:
    """The lists as rules see them now (for one-off use: a backtest, the CLI)."""
    lists, version, _ = await live_lists(connection)
    return ListSnapshot.build(lists, version)


async def version(connection: AsyncConnection) -> str:
    return str(await repository.version(connection))
