"""Case logic: open (from a review decision or by hand), claim, annotate, dispose, reopen.

Every function takes the caller's connection (a request's or a consumer's transaction) and
never begins or commits; each change writes its audit row in that same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.service import Actor, AdminAction, AuditFilter
from riskops.cases import repository
from riskops.cases.metrics import CASES_CLOSED, CASES_JOINED, CASES_OPENED, CASES_REOPENED
from riskops.cases.repository import CaseFilter
from riskops.cases.schemas import (
    LABEL_OF,
    CaseSort,
    CaseStatus,
    DispositionCreate,
)
from riskops.core.errors import Conflict, NotFound
from riskops.core.ids import new_id
from riskops.core.outcome import Outcome
from riskops.db.types import utcnow
from riskops.decisions import repository as decisions
from riskops.entities import repository as entities
from riskops.entities.repository import EntityKind
from riskops.labels.publish import label_and_publish
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.labels.service import LabelService

__all__ = ["CaseFilter", "CasePolicy", "CaseSort"]
HISTORY_LIMIT = 10  # payments per entity on the case page
DETAIL_TRANSACTIONS = 50
SCORE_FLOOR = 0.1


class CaseAlreadyAssigned(Conflict):
    code = "case_already_assigned"


class CaseClosed(Conflict):
    code = "case_closed"


class CaseNotClosed(Conflict):
    code = "case_not_closed"


class TransactionInCase(Conflict):
    code = "transaction_in_case"


@dataclass(frozen=True, slots=True)
class CasePolicy:
    join_window: timedelta  # a card's review payments within this join its open case
    sla: timedelta  # a case is due this long after it opened


def target(case_id: str) -> str:
    return f"case:{case_id}"


CASE_FIELDS = (
    "id", "status", "source", "priority", "score", "assignee", "reason_codes", "amount_minor",
    "currency", "country", "channel", "card_token", "transaction_id", "disposition",
    "opened_at", "updated_at", "closed_at", "sla_due_at",
)  # fmt: skip


def case_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        **{k: row[k] for k in CASE_FIELDS},
        "overdue": row["status"] != CaseStatus.CLOSED and now > row["sla_due_at"],
    }


def _priority(payment: dict[str, Any]) -> float:
    """Expected loss in major units: a likely-fraud large payment outranks a doubtful small
    one. A rule can send a low-scored payment to review (and without a model every score is
    0): the floor keeps the amount ordering those."""
    score = max(float(payment["decision"]["score"]), SCORE_FLOOR)
    return round(score * int(payment["amount_minor"]) / 100, 4)


async def _payment(connection: AsyncConnection, transaction_id: str) -> dict[str, Any]:
    payment = await decisions.get_transaction(connection, transaction_id)
    if payment is None:
        raise NotFound(
            f"transaction {transaction_id} does not exist", {"transaction_id": transaction_id}
        )
    return payment


async def _new_case(
    connection: AsyncConnection,
    payment: dict[str, Any],
    source: str,
    policy: CasePolicy,
    actor: Actor,
    reason: str = "",
) -> dict[str, Any] | None:
    now = utcnow()
    row = {
        "id": new_id(),
        "status": CaseStatus.OPEN.value,
        "source": source,
        "priority": _priority(payment),
        "score": float(payment["decision"]["score"]),
        "assignee": None,
        "reason_codes": list(payment["decision"]["reason_codes"]),
        "amount_minor": payment["amount_minor"],
        "currency": payment["currency"],
        "country": payment["merchant_country"],
        "channel": payment["channel"],
        "card_token": payment["card"]["token"],
        "transaction_id": payment["id"],
        "disposition": None,
        "opened_at": now,
        "updated_at": now,
        "closed_at": None,
        "sla_due_at": now + policy.sla,
    }
    await repository.insert_case(connection, row)
    if not await repository.add_transaction(connection, row["id"], payment["id"], now):
        # Another opener got there between our check and our insert: theirs stands.
        raise TransactionInCase(
            f"transaction {payment['id']} is already in a case", {"transaction_id": payment["id"]}
        )
    await audit.record(
        connection,
        actor,
        AdminAction.CASE_OPENED,
        target(row["id"]),
        after={"transaction_id": payment["id"], "source": source, "reason": reason or None},
    )
    CASES_OPENED.labels(source).inc()
    return row


async def open_for_review(
    connection: AsyncConnection, transaction_id: str, policy: CasePolicy
) -> str | None:
    """Open a case for a review payment, or add it to its card's open case in the window.

    Returns the case id, or None if the payment is in a case already (a redelivered event):
    the unique payment-per-case constraint makes this exactly once.
    """
    if await repository.case_of_transaction(connection, transaction_id) is not None:
        return None
    payment = await _payment(connection, transaction_id)
    now = utcnow()
    if policy.join_window > timedelta(0):
        joined = await repository.open_case_of_card(
            connection, payment["card"]["token"], now - policy.join_window
        )
        if joined is not None:
            if not await repository.add_transaction(connection, joined["id"], transaction_id, now):
                return None
            await repository.grow(
                connection, joined["id"], payment["amount_minor"], _priority(payment), now
            )
            await audit.record(
                connection,
                audit.SYSTEM,
                AdminAction.CASE_JOINED,
                target(joined["id"]),
                after={"transaction_id": transaction_id},
            )
            CASES_JOINED.inc()
            return str(joined["id"])
    opened = await _new_case(connection, payment, Outcome.REVIEW, policy, audit.SYSTEM)
    return str(opened["id"]) if opened else None


async def case_of(connection: AsyncConnection, transaction_id: str) -> str | None:
    """The id of the case holding this payment, if any."""
    return await repository.case_of_transaction(connection, transaction_id)


async def open_manual(
    connection: AsyncConnection,
    transaction_id: str,
    reason: str,
    policy: CasePolicy,
    actor: Actor,
) -> dict[str, Any]:
    """An analyst opens a case on any payment not in a case already."""
    existing = await repository.case_of_transaction(connection, transaction_id)
    if existing is not None:
        raise TransactionInCase(
            f"transaction {transaction_id} is already in case {existing}",
            {"transaction_id": transaction_id, "case_id": existing},
        )
    row = await _new_case(
        connection, await _payment(connection, transaction_id), "manual", policy, actor, reason
    )
    assert row is not None
    return case_view(row, utcnow())


async def list_cases(
    connection: AsyncConnection,
    where: CaseFilter,
    sort: CaseSort,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    rows, next_cursor = await repository.list_cases(connection, where, sort, limit, cursor)
    now = utcnow()
    return [case_view(r, now) for r in rows], next_cursor


async def _case(connection: AsyncConnection, case_id: str) -> dict[str, Any]:
    row = await repository.get_case(connection, case_id)
    if row is None:
        raise NotFound(f"case {case_id} does not exist", {"case_id": case_id})
    return row


async def get_case(connection: AsyncConnection, case_id: str) -> dict[str, Any]:
    return case_view(await _case(connection, case_id), utcnow())


async def brief(connection: AsyncConnection, case_id: str) -> dict[str, Any]:
    """The case and its notes, without the payments, histories and audit trail of `detail`
    (what an investigation cites)."""
    row = await _case(connection, case_id)
    notes = await repository.notes_of(connection, case_id)
    return {
        **case_view(row, utcnow()),
        "notes": [{k: n[k] for k in ("id", "author", "text", "created_at")} for n in notes],
    }


async def detail(connection: AsyncConnection, case_id: str) -> dict[str, Any]:
    """The case with its payments and decisions, notes, dispositions, audit trail and the
    recent history of the opening payment's card, account, device and merchant."""
    row = await _case(connection, case_id)
    ids = await repository.transaction_ids_of(connection, case_id)
    payments = []
    for transaction_id in ids[:DETAIL_TRANSACTIONS]:
        payment = await decisions.get_transaction(connection, transaction_id)
        if payment is not None:
            payments.append(payment)
    opening = next((p for p in payments if p["id"] == row["transaction_id"]), None)
    histories: dict[str, Any] = {}
    if opening is not None:
        for kind, value in (
            (EntityKind.CARD, opening["card"]["token"]),
            (EntityKind.ACCOUNT, opening["account_id"]),
            (EntityKind.DEVICE, opening["device_id"]),
            (EntityKind.MERCHANT, opening["merchant_id"]),
        ):
            if value is None:
                continue
            histories[kind.value] = {
                "id": value,
                "transactions": await entities.recent(connection, kind, value, HISTORY_LIMIT),
            }
    history, _ = await audit.list_entries(
        connection, AuditFilter(target=target(case_id)), 200, None, 200
    )
    notes = await repository.notes_of(connection, case_id)
    return {
        **case_view(row, utcnow()),
        "transactions": payments,
        "notes": [
            {k: n[k] for k in ("id", "author", "author_name", "text", "created_at")} for n in notes
        ],
        "dispositions": [
            {
                k: d[k]
                for k in (
                    "id",
                    "disposition",
                    "reason",
                    "actor",
                    "actor_name",
                    "labels",
                    "created_at",
                )
            }
            for d in await repository.dispositions_of(connection, case_id)
        ],
        "history": list(reversed(history)),
        "entities": histories,
    }


async def assign(
    connection: AsyncConnection, case_id: str, assignee: str, actor: Actor
) -> dict[str, Any]:
    """Claim an open, unassigned case: of two concurrent claims exactly one wins."""
    claimed = await repository.claim(connection, case_id, assignee, utcnow())
    if claimed is None:
        current = await _case(connection, case_id)
        if current["status"] == CaseStatus.CLOSED:
            raise CaseClosed(f"case {case_id} is closed", {"case_id": case_id})
        raise CaseAlreadyAssigned(
            f"case {case_id} is already assigned to {current['assignee']}",
            {"case_id": case_id, "assignee": current["assignee"]},
        )
    await audit.record(
        connection, actor, AdminAction.CASE_ASSIGNED, target(case_id), after={"assignee": assignee}
    )
    return case_view(claimed, utcnow())


async def add_note(
    connection: AsyncConnection, case_id: str, text: str, actor: Actor
) -> dict[str, Any]:
    await _case(connection, case_id)
    now = utcnow()
    note = {
        "id": new_id(),
        "case_id": case_id,
        "author": actor.id,
        "author_name": actor.name,
        "text": text,
        "created_at": now,
    }
    await repository.insert_note(connection, note)
    await repository.touch(connection, case_id, now)
    await audit.record(
        connection,
        actor,
        AdminAction.CASE_NOTE_ADDED,
        target(case_id),
        after={"note_id": note["id"]},
    )
    return {k: note[k] for k in ("id", "author", "author_name", "text", "created_at")}


async def dispose(
    connection: AsyncConnection,
    case_id: str,
    body: DispositionCreate,
    actor: Actor,
    labels: LabelService,
) -> dict[str, Any]:
    """Close the case with a disposition; fraud_confirmed and legitimate label every payment
    of the case through the label service (features, training and labels.v1 learn of it)."""
    now = utcnow()
    closed = await repository.close(connection, case_id, body.disposition.value, now)
    if closed is None:
        await _case(connection, case_id)  # 404 first
        raise CaseClosed(f"case {case_id} is closed", {"case_id": case_id})
    label_ids: list[str] = []
    value = LABEL_OF[body.disposition]
    if value is not None:
        for transaction_id in await repository.transaction_ids_of(connection, case_id):
            stored = await label_and_publish(
                connection,
                labels,
                LabelCreate(
                    transaction_id=transaction_id,
                    label=value,
                    source=LabelSource.ANALYST,
                    labelled_at=now,
                ),
            )
            if stored is not None:
                label_ids.append(stored.id)
    disposition = {
        "id": new_id(),
        "case_id": case_id,
        "disposition": body.disposition.value,
        "reason": body.reason,
        "actor": actor.id,
        "actor_name": actor.name,
        "labels": label_ids,
        "created_at": now,
    }
    await repository.insert_disposition(connection, disposition)
    await audit.record(
        connection,
        actor,
        AdminAction.CASE_DISPOSED,
        target(case_id),
        before={"status": "open" if closed["assignee"] is None else "assigned"},
        after={"disposition": body.disposition.value, "reason": body.reason, "labels": label_ids},
    )
    CASES_CLOSED.labels(body.disposition.value).inc()
    return case_view(closed, now)


async def reopen(connection: AsyncConnection, case_id: str, actor: Actor) -> dict[str, Any]:
    """Reopen a closed case; the labels its disposition wrote stay (a new disposition adds
    newer ones beside them)."""
    reopened = await repository.reopen(connection, case_id, utcnow())
    if reopened is None:
        await _case(connection, case_id)
        raise CaseNotClosed(f"case {case_id} is not closed", {"case_id": case_id})
    await audit.record(
        connection,
        actor,
        AdminAction.CASE_REOPENED,
        target(case_id),
        after={"status": reopened["status"]},
    )
    CASES_REOPENED.inc()
    return case_view(reopened, utcnow())
