"""The recommendation queue as analysts use it: list, read, acknowledge (optionally opening a
case or applying the list entry, as the analyst's own actions) and reject with a reason.

Nothing here changes anything by itself: every effect is an analyst's request, audited under
their name. Functions take the caller's connection and never begin or commit.
"""

import base64
import contextlib
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.actions import Actor, AdminAction
from riskops.auth.service import Principal
from riskops.cases import service as cases
from riskops.cases.service import CasePolicy, TransactionInCase
from riskops.core.errors import BadRequest, Conflict, NotFound
from riskops.db.types import utcnow
from riskops.entities.service import EntityKind
from riskops.lists import service as lists
from riskops.lists.service import ListExists
from riskops.recommendations import repository
from riskops.recommendations.candidates import Suggestion
from riskops.recommendations.repository import (
    QueueFilter as QueueFilter,
)  # the console filters with it
from riskops.recommendations.schemas import AckRequest, RecommendationStatus, RejectRequest
from riskops.rules.lists import ListKind, ListPurpose


class RecommendationClosed(Conflict):
    code = "recommendation_closed"


class NothingToList(Conflict):
    code = "recommendation_has_no_list_entry"


def target(recommendation_id: str) -> str:
    return f"recommendation:{recommendation_id}"


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row["status"],
        "entity": {"kind": row["entity_kind"], "id": row["entity_id"]},
        "pattern": row["pattern"],
        "priority": row["priority"],
        "strength": row["strength"],
        "rejections_before": row["rejections_before"],
        "summary": row["summary"],
        "evidence": row["evidence"],
        "suggestion": row["suggestion"],
        "list_name": row["list_name"],
        "transaction_id": row["transaction_id"],
        "latest_at": row["latest_at"],
        "scans": row["scans"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "acted_by": row["acted_by"],
        "acted_by_name": row["acted_by_name"],
        "acted_at": row["acted_at"],
        "reason": row["reason"],
        "case_id": row["case_id"],
        "list_entry": row["list_entry"],
    }


def encode_cursor(priority: float, recommendation_id: str) -> str:
    return (
        base64.urlsafe_b64encode(orjson.dumps([priority, recommendation_id])).decode().rstrip("=")
    )


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The (priority, id) of a cursor this API issued; 400 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        priority, recommendation_id = orjson.loads(raw)
        if not isinstance(priority, int | float) or not isinstance(recommendation_id, str):
            raise ValueError("not a cursor")
        return float(priority), recommendation_id
    except (ValueError, TypeError) as error:
        raise BadRequest("the cursor is not one this API issued", {"field": "cursor"}) from error


async def listed(
    connection: AsyncConnection, where: QueueFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.listed(connection, where, limit + 1, after)
    page = [view(r) for r in rows[:limit]]
    more = len(rows) > limit
    return page, encode_cursor(page[-1]["priority"], page[-1]["id"]) if more else None


async def get(connection: AsyncConnection, recommendation_id: str) -> dict[str, Any]:
    row = await repository.get(connection, recommendation_id)
    if row is None:
        raise NotFound(
            f"recommendation {recommendation_id} does not exist",
            {"recommendation_id": recommendation_id},
        )
    return view(row)


async def _open(connection: AsyncConnection, recommendation_id: str) -> dict[str, Any]:
    row = await repository.get_for_update(connection, recommendation_id)
    if row is None:
        raise NotFound(
            f"recommendation {recommendation_id} does not exist",
            {"recommendation_id": recommendation_id},
        )
    if row["status"] != RecommendationStatus.OPEN:
        raise RecommendationClosed(
            f"recommendation {recommendation_id} is {row['status']} already",
            {"recommendation_id": recommendation_id, "status": row["status"]},
        )
    return row


async def _close(
    connection: AsyncConnection, recommendation_id: str, values: dict[str, Any]
) -> None:
    if not await repository.close(connection, recommendation_id, values):
        raise RecommendationClosed(
            f"recommendation {recommendation_id} was acted on meanwhile",
            {"recommendation_id": recommendation_id},
        )


# A list created on first use for entities without a shipped one (merchants, accounts).
WATCH_KINDS = {EntityKind.MERCHANT: ListKind.MERCHANT, EntityKind.ACCOUNT: ListKind.ACCOUNT}


async def _list_entry(
    connection: AsyncConnection, principal: Principal, row: dict[str, Any], secret: bytes
) -> str:
    name = row["list_name"]
    if name is None:
        raise NothingToList(
            "this recommendation suggests no list entry", {"recommendation_id": row["id"]}
        )
    kind = EntityKind(row["entity_kind"])
    if row["suggestion"] == Suggestion.WATCH and kind in WATCH_KINDS:
        with contextlib.suppress(ListExists):  # created before: entries go to it
            await lists.create_list(
                connection,
                principal.actor(),
                name,
                WATCH_KINDS[kind],
                ListPurpose.WATCH,
                f"{kind.value.capitalize()}s an analyst put under watch from a recommendation",
            )
    added = await lists.add_entries(
        connection,
        principal.actor(),
        name,
        [row["entity_id"]],
        f"recommendation {row['id']}: {row['pattern']}",
        None,
        secret,
        token_ok=True,
    )
    return str((added["added"] or added["renewed"])[0])


async def acknowledge(
    connection: AsyncConnection,
    principal: Principal,
    recommendation_id: str,
    request: AckRequest,
    policy: CasePolicy,
    secret: bytes,
) -> dict[str, Any]:
    """Accept the lead; with `open_case` a case on its newest payment (or the case holding it),
    with `apply_list_entry` the entity on its list: each the analyst's own audited action."""
    row = await _open(connection, recommendation_id)
    actor = principal.actor()
    case_id: str | None = None
    if request.open_case:
        reason = f"recommendation {recommendation_id}: {row['summary']}"[:2000]
        try:
            case = await cases.open_manual(connection, row["transaction_id"], reason, policy, actor)
            case_id = str(case["id"])
        except TransactionInCase:
            case_id = await cases.case_of(connection, row["transaction_id"])
    entry = (
        await _list_entry(connection, principal, row, secret) if request.apply_list_entry else None
    )
    return await _settle(
        connection,
        actor,
        row,
        AdminAction.RECOMMENDATION_ACKNOWLEDGED,
        {
            "status": RecommendationStatus.ACKNOWLEDGED.value,
            "reason": request.note or None,
            "case_id": case_id,
            "list_entry": entry,
        },
        {
            "case_id": case_id,
            "list": row["list_name"] if entry else None,
            "note": request.note or None,
        },
    )


async def reject(
    connection: AsyncConnection,
    principal: Principal,
    recommendation_id: str,
    request: RejectRequest,
) -> dict[str, Any]:
    """Not a lead: kept with the reason; later scans rank this pattern on this entity lower."""
    row = await _open(connection, recommendation_id)
    return await _settle(
        connection,
        principal.actor(),
        row,
        AdminAction.RECOMMENDATION_REJECTED,
        {"status": RecommendationStatus.REJECTED.value, "reason": request.reason},
        {"reason": request.reason},
    )


async def _settle(
    connection: AsyncConnection,
    actor: Actor,
    row: dict[str, Any],
    action: AdminAction,
    values: dict[str, Any],
    audited: dict[str, Any],
) -> dict[str, Any]:
    """Close an open entry as `actor` did, and audit it: one shape for ack and reject."""
    now = utcnow()
    values = {**values, "acted_by": actor.id, "acted_by_name": actor.name, "acted_at": now,
              "updated_at": now}  # fmt: skip
    await _close(connection, row["id"], values)
    await audit.record(
        connection,
        actor,
        action,
        target(row["id"]),
        {"status": row["status"]},
        {
            "status": values["status"],
            "entity": {"kind": row["entity_kind"], "id": row["entity_id"]},
            "pattern": row["pattern"],
            **audited,
        },
    )
    return view({**row, **values})


async def patterns(connection: AsyncConnection) -> list[str]:
    return await repository.patterns(connection)
