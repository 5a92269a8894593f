"""The maker-checker workflow: drafts are written, submitted, approved by someone else, activated.

Services take the caller's connection and never begin or commit, so a transition, its audit
row and (on approval) the new active version commit together or not at all.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.service import AdminAction
from riskops.auth.service import Principal
from riskops.core.errors import BadRequest
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.jobs import service as jobs
from riskops.lists import service as lists_service
from riskops.rulesets import repository
from riskops.rulesets.content import RuleDict, checksum, diff, normalise
from riskops.rulesets.errors import (
    DraftNotFound,
    FourEyesRequired,
    NotTheAuthor,
    RulesetInvalid,
    StaleBase,
    VersionNotFound,
    WrongDraftStatus,
)
from riskops.rulesets.validation import problems

Row = dict[str, Any]
BACKTEST_JOB = "ruleset_backtest"
HIT_RATE_SAMPLE = 200_000
DRAFT_STATUSES = ("draft", "pending_approval", "approved", "rejected")


async def list_versions(connection: AsyncConnection) -> list[Row]:
    return await repository.list_versions(connection)


async def get_version(connection: AsyncConnection, version: int) -> Row:
    row = await repository.get_version(connection, version)
    if row is None:
        raise VersionNotFound(f"ruleset version {version} does not exist", {"version": version})
    return row


async def active_version(connection: AsyncConnection) -> Row:
    row = await repository.active_version(connection)
    if row is None:  # the migration writes version 1: only a hand-edited database lacks one
        raise VersionNotFound("no ruleset version is active")
    return row


async def list_names(connection: AsyncConnection) -> list[str]:
    """The lists a rule may name (`in_list`)."""
    return [row["name"] for row in await lists_service.lists(connection)]


async def validate(connection: AsyncConnection, rules: list[Any]) -> list[RuleDict]:
    """The normalised rules, or RulesetInvalid (422) naming every rule id and problem."""
    clean = normalise([r if isinstance(r, dict) else {"_": r} for r in rules])
    found = problems(clean, await list_names(connection))
    if found:
        raise RulesetInvalid.of(found)
    return clean


async def create_draft(
    connection: AsyncConnection,
    principal: Principal,
    *,
    rules: list[Any] | None,
    base_version: int | None,
    from_version: int | None,
    comment: str,
) -> Row:
    """A draft of a whole candidate ruleset, or of an earlier version's rules (a rollback)."""
    active = await active_version(connection)
    if from_version is not None:
        source = await get_version(connection, from_version)
        rules = source["rules"]
        comment = comment or f"roll back to version {from_version}"
    base = await get_version(connection, base_version) if base_version else active
    clean = await validate(connection, rules or [])
    now = utcnow()
    row = {
        "id": new_id(),
        "base_version": base["version"],
        "rules": clean,
        "comment": comment,
        "author": principal.key_id,
        "author_name": principal.name,
        "status": "draft",
        "diff": diff(base["rules"], clean),
        "backtest": None,
        "reviewer": None,
        "reviewer_name": None,
        "reason": None,
        "version": None,
        "created_at": now,
        "updated_at": now,
        "submitted_at": None,
        "decided_at": None,
    }
    await repository.insert_draft(connection, row)
    await _audit(connection, principal, AdminAction.DRAFT_CREATED, row["id"], None, _brief(row))
    return row


async def update_draft(
    connection: AsyncConnection,
    principal: Principal,
    draft_id: str,
    *,
    rules: list[Any],
    base_version: int | None,
    comment: str | None,
) -> Row:
    draft = await get_draft(connection, draft_id)
    _require_author(draft, principal, "edit")
    base = await get_version(connection, base_version or draft["base_version"])
    clean = await validate(connection, rules)
    values = {
        "rules": clean,
        "base_version": base["version"],
        "comment": draft["comment"] if comment is None else comment,
        "diff": diff(base["rules"], clean),
        "backtest": None,  # a backtest of other rules says nothing about these
        "updated_at": utcnow(),
    }
    if not await repository.transition(connection, draft_id, "draft", values):
        raise _wrong_status(draft, "draft", "edited")
    after = {**draft, **values}
    await _audit(
        connection, principal, AdminAction.DRAFT_UPDATED, draft_id, _brief(draft), _brief(after)
    )
    return after


async def get_draft(connection: AsyncConnection, draft_id: str) -> Row:
    row = await repository.get_draft(connection, draft_id)
    if row is None:
        raise DraftNotFound(f"draft {draft_id} does not exist", {"draft_id": draft_id})
    return row


async def list_drafts(
    connection: AsyncConnection, status: str | None, limit: int = 100
) -> list[Row]:
    return await repository.list_drafts(connection, status, limit)


async def submit(connection: AsyncConnection, principal: Principal, draft_id: str) -> Row:
    draft = await get_draft(connection, draft_id)
    _require_author(draft, principal, "submit")
    values = {"status": "pending_approval", "submitted_at": utcnow(), "updated_at": utcnow()}
    return await _move(connection, principal, draft, "draft", values, AdminAction.DRAFT_SUBMITTED)


async def approve(connection: AsyncConnection, principal: Principal, draft_id: str) -> Row:
    """The draft becomes the next version, active at once (on commit)."""
    draft = await get_draft(connection, draft_id)
    if draft["author"] == principal.key_id:
        raise FourEyesRequired(
            "a draft must be approved by someone other than its author",
            {"draft_id": draft_id, "author": draft["author"]},
        )
    active = await active_version(connection)
    if draft["status"] == "pending_approval" and active["version"] != draft["base_version"]:
        raise StaleBase(
            f"version {active['version']} became active after this draft was based on "
            f"version {draft['base_version']}: its author must rebase it and submit again",
            {"active_version": active["version"], "base_version": draft["base_version"]},
        )
    now = utcnow()
    number = await repository.next_version(connection)
    values = {
        "status": "approved",
        "reviewer": principal.key_id,
        "reviewer_name": principal.name,
        "decided_at": now,
        "updated_at": now,
        "version": number,
    }
    approved = await _move(
        connection, principal, draft, "pending_approval", values, AdminAction.DRAFT_APPROVED
    )
    version = {
        "version": number,
        "rules": draft["rules"],
        "checksum": checksum(draft["rules"]),
        "comment": draft["comment"],
        "author": draft["author"],
        "author_name": draft["author_name"],
        "approver": principal.key_id,
        "approver_name": principal.name,
        "draft_id": draft_id,
        "status": "active",
        "created_at": now,
        "activated_at": now,
    }
    try:
        await repository.activate(connection, version)
    except IntegrityError as error:  # another draft took this number in the same instant
        raise WrongDraftStatus(
            "another version was activated at the same moment; retry", {"draft_id": draft_id}
        ) from error
    before = {"version": active["version"], "checksum": active["checksum"]}
    after = {"version": number, "checksum": version["checksum"], "draft_id": draft_id}
    await _audit(
        connection, principal, AdminAction.RULESET_ACTIVATED, f"ruleset:{number}", before, after
    )
    return approved


async def reject(
    connection: AsyncConnection, principal: Principal, draft_id: str, reason: str
) -> Row:
    draft = await get_draft(connection, draft_id)
    if draft["author"] == principal.key_id:
        raise FourEyesRequired(
            "a draft is rejected by a reviewer; its author edits or abandons it",
            {"draft_id": draft_id},
        )
    now = utcnow()
    values = {
        "status": "rejected",
        "reviewer": principal.key_id,
        "reviewer_name": principal.name,
        "reason": reason,
        "decided_at": now,
        "updated_at": now,
    }
    return await _move(
        connection, principal, draft, "pending_approval", values, AdminAction.DRAFT_REJECTED
    )


async def _move(
    connection: AsyncConnection,
    principal: Principal,
    draft: Row,
    expected: str,
    values: Row,
    action: AdminAction,
) -> Row:
    if not await repository.transition(connection, draft["id"], expected, values):
        raise _wrong_status(draft, expected, action.value.rsplit(".", 1)[1])
    after = {**draft, **values}
    await _audit(connection, principal, action, draft["id"], _brief(draft), _brief(after))
    return after


def _wrong_status(draft: Row, expected: str, verb: str) -> WrongDraftStatus:
    # `draft` may be stale here (a concurrent request moved it): say what was needed.
    return WrongDraftStatus(
        f"draft {draft['id']} can only be {verb} while '{expected}'",
        {"draft_id": draft["id"], "needs_status": expected, "status_seen": draft["status"]},
    )


def _require_author(draft: Row, principal: Principal, verb: str) -> None:
    if draft["author"] != principal.key_id:
        raise NotTheAuthor(f"only the draft's author may {verb} it", {"draft_id": draft["id"]})


def _brief(draft: Row) -> Row:
    """What the audit log keeps of a draft: enough to see what changed, not every rule text."""
    return {
        "status": draft["status"],
        "base_version": draft["base_version"],
        "checksum": checksum(draft["rules"]),
        "rule_ids": [rule["id"] for rule in draft["rules"]],
        "comment": draft["comment"],
        "reviewer": draft.get("reviewer"),
        "reason": draft.get("reason"),
        "version": draft.get("version"),
    }


async def _audit(
    connection: AsyncConnection,
    principal: Principal,
    action: AdminAction,
    draft_id: str,
    before: Row | None,
    after: Row | None,
) -> None:
    target = draft_id if draft_id.startswith("ruleset:") else f"ruleset_draft:{draft_id}"
    await audit.record(connection, principal.actor(), action, target, before, after)


async def request_backtest(
    connection: AsyncConnection, principal: Principal, draft_id: str, start: datetime, end: datetime
) -> Row:
    """A queued backtest job for the draft; the caller starts it once this commits."""
    if start >= end:
        raise BadRequest("`from` must be before `to`", {"field": "from"})
    draft = await get_draft(connection, draft_id)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    job = await jobs.create(connection, BACKTEST_JOB, draft_id, window, principal.key_id)
    await _audit(
        connection,
        principal,
        AdminAction.DRAFT_BACKTEST_REQUESTED,
        draft["id"],
        None,
        {**window, "job_id": job["id"]},
    )
    return job


async def hit_rates(connection: AsyncConnection, hours: int = 24) -> Row:
    """Per rule, active and shadow alike: hits, hit rate and (where hit transactions carry
    labels) precision over the decisions of the last `hours` (the rules page).

    Counted in Python over at most HIT_RATE_SAMPLE decisions: the hits are a JSON list per
    decision, which SQLite and PostgreSQL unnest differently; a busy day is sampled (newest).
    """
    since = utcnow() - timedelta(hours=hours)
    rows = await repository.recent_rule_hits(connection, since, HIT_RATE_SAMPLE)
    # A shadow rule never sits in rule_hits (it changes no outcome), so one dict holds both.
    hit_by: dict[str, list[str]] = {}
    for transaction_id, hits, shadow in rows:
        for rule_id in {hit["rule_id"] for hit in [*hits, *shadow]}:
            hit_by.setdefault(rule_id, []).append(transaction_id)
    hit_ids = list({t for ids in hit_by.values() for t in ids})
    known = await repository.latest_labels(connection, hit_ids)
    total = len(rows)
    return {
        "decisions": total,
        "sampled": total == HIT_RATE_SAMPLE,
        "rules": {k: _figures(ids, total, known) for k, ids in hit_by.items()},
    }


def _figures(hit_ids: list[str], total: int, known: dict[str, int]) -> Row:
    labelled = [known[t] for t in hit_ids if t in known]
    fraud = sum(1 for label in labelled if label == 1)
    return {
        "hits": len(hit_ids),
        "rate": len(hit_ids) / total,
        "labelled": len(labelled),
        # None until a hit is labelled: no figure beats a precision of 0 out of 0.
        "precision": fraud / len(labelled) if labelled else None,
    }
