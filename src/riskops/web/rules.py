"""Rules in the console: the active version with its hit rates, drafts with validation as you
type, backtests, the approvals inbox and version history. Pages call the rulesets service."""

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskops.api.deps import WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.core.errors import BadRequest, RiskOpsError
from riskops.decisions.policy import Thresholds
from riskops.investigations import service as investigations
from riskops.investigations.ruledraft import engine_rule
from riskops.investigations.schemas import ULID
from riskops.jobs import service as jobs
from riskops.rules import RuleProblem
from riskops.rulesets import service
from riskops.rulesets.backtest import run_backtest
from riskops.rulesets.validation import problems
from riskops.web import nav
from riskops.web.filters import FilterError, parse_time
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
InvestigationParam = Annotated[str | None, Query(pattern=ULID)]

nav.register(nav.Page("Rules", "/rules", order=45))


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, read_session(request), form.get(CSRF_FIELD))
    return form


def _pending_count(drafts: list[dict[str, Any]]) -> int:
    return sum(1 for d in drafts if d["status"] == "pending_approval")


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, user: User) -> Response:
    """The active version, each rule with its hits over the last 24 hours."""
    async with _runtime(request).engine.connect() as connection:
        active = await service.active_version(connection)
        rates = await service.hit_rates(connection)
        pending = await service.list_drafts(connection, "pending_approval")
    context = {"active": active, "rates": rates, "pending": len(pending)}
    return render(request, "rules.html", context, user)


@router.get("/rules/versions", response_class=HTMLResponse)
async def versions_page(request: Request, user: User) -> Response:
    """Every version, newest first, with a rollback draft one click away."""
    async with _runtime(request).engine.connect() as connection:
        versions = await service.list_versions(connection)
    return render(request, "rule_versions.html", {"versions": versions}, user)


@router.get("/rules/drafts", response_class=HTMLResponse)
async def drafts_page(request: Request, user: User, status: str = "") -> Response:
    """Drafts; with status=pending_approval, the approvals inbox (diffs shown inline)."""
    chosen = status if status in service.DRAFT_STATUSES else None
    async with _runtime(request).engine.connect() as connection:
        drafts = await service.list_drafts(connection, chosen)
    inbox = chosen == "pending_approval"
    context = {"drafts": drafts, "status": chosen or "", "inbox": inbox}
    return render(request, "rule_drafts.html", context, user)


@router.get("/rules/drafts/new", response_class=HTMLResponse)
async def new_draft(
    request: Request, user: User, investigation: InvestigationParam = None
) -> Response:
    """The editor, prefilled with the active version's rules; with `investigation`, plus the
    rule that investigation proposes (the analyst reviews it and saves the draft)."""
    async with _runtime(request).engine.connect() as connection:
        active = await service.active_version(connection)
        rules = list(active["rules"])
        comment = ""
        proposed = None
        if investigation is not None:
            try:
                proposed = await investigations.proposed_rule(connection, investigation)
            except RiskOpsError as problem:
                return render(request, "error.html", {"error": problem}, user, problem.status_code)
        if proposed is not None:
            rules.append(engine_rule(proposed))
            comment = f"rule {proposed['id']} proposed by investigation {investigation}"
    context = {
        "text": json.dumps(rules, indent=2),
        "comment": comment,
        "active": active,
        "proposed": proposed,
    }
    return render(request, "rule_editor.html", context, user)


@router.post("/rules/validate", response_class=HTMLResponse)
async def validate(request: Request, user: User) -> Response:
    """The editor's live check (htmx, as the analyst types): every problem by rule id."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    rules, error = _parse(form.get("rules", ""))
    found: list[RuleProblem] = []
    if rules is not None:
        async with _runtime(request).engine.connect() as connection:
            found = problems(rules, await service.list_names(connection))
    context = {"checked": True, "parse_error": error, "problems": found, "count": len(rules or [])}
    return render(request, "_rule_validation.html", context, user)


def _parse(text: str) -> tuple[list[Any] | None, str | None]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(document, dict):
        document = document.get("rules")
    if not isinstance(document, list):
        return None, 'expected a JSON list of rules (or {"rules": [...]})'
    return document, None


@router.post("/rules/drafts", response_class=HTMLResponse)
async def create_draft(request: Request, user: User, connection: WriteConnection) -> Response:
    """Save the editor's ruleset as a draft (analysts, approvers, admins)."""
    form = await _form(request)
    rules, parse_error = _parse(form.get("rules", ""))
    try:
        permit(user.principal, Capability.DRAFT_RULES)
        if rules is None:
            raise BadRequest(parse_error or "no rules")
        created = await service.create_draft(
            connection,
            user.principal,
            rules=rules,
            base_version=None,
            from_version=None,
            comment=form.get("comment", "").strip(),
        )
    except RiskOpsError as error:
        active = await service.active_version(connection)
        context = {
            "text": form.get("rules", ""),
            "comment": form.get("comment", ""),
            "active": active,
            "error": error,
            "problems": error.details.get("errors", []),
        }
        return render(request, "rule_editor.html", context, user, error.status_code)
    return RedirectResponse(f"/rules/drafts/{created['id']}", status_code=303)


@router.post("/rules/versions/{version}/rollback", response_class=HTMLResponse)
async def rollback(
    request: Request, version: int, user: User, connection: WriteConnection
) -> Response:
    """A draft of an earlier version's rules: the same four-eyes flow as any change."""
    await _form(request)
    try:
        permit(user.principal, Capability.DRAFT_RULES)
        created = await service.create_draft(
            connection, user.principal, rules=None, base_version=None,
            from_version=version, comment="",
        )  # fmt: skip
    except RiskOpsError as error:
        return render(request, "error.html", {"error": error}, user, error.status_code)
    return RedirectResponse(f"/rules/drafts/{created['id']}", status_code=303)


@router.get("/rules/drafts/{draft_id}", response_class=HTMLResponse)
async def draft_page(request: Request, draft_id: str, user: User) -> Response:
    """One draft: its diff, its backtest, and what this user may do with it."""
    try:
        async with _runtime(request).engine.connect() as connection:
            draft = await service.get_draft(connection, draft_id)
    except RiskOpsError as error:
        return render(request, "error.html", {"error": error}, user, error.status_code)
    return render(request, "rule_draft.html", _draft_context(draft, user), user)


def _draft_context(draft: dict[str, Any], user: ConsoleUser, **extra: Any) -> dict[str, Any]:
    mine = draft["author"] == user.principal.key_id
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    return {
        "d": draft,
        "mine": mine,
        "may_review": user.can(Capability.APPROVE_RULES) and not mine,
        "may_draft": user.can(Capability.DRAFT_RULES),
        "bt_from": (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "bt_to": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),  # this minute too
        **extra,
    }


_ACTIONS = {"submit": service.submit, "approve": service.approve}


@router.post("/rules/drafts/{draft_id}/{action}", response_class=HTMLResponse)
async def act(
    request: Request,
    draft_id: str,
    action: str,
    user: User,
    connection: WriteConnection,
    tasks: BackgroundTasks,
) -> Response:
    """Submit, approve, reject or backtest a draft from its page."""
    form = await _form(request)
    try:
        if action == "backtest":
            return await _backtest(request, draft_id, form, user, connection, tasks)
        if action == "reject":
            permit(user.principal, Capability.APPROVE_RULES)
            reason = form.get("reason", "").strip()
            if not reason:
                raise BadRequest("a rejection needs a reason for the author", {"field": "reason"})
            await service.reject(connection, user.principal, draft_id, reason)
        elif action in _ACTIONS:
            approving = _ACTIONS[action] is service.approve
            needs = Capability.APPROVE_RULES if approving else Capability.DRAFT_RULES
            permit(user.principal, needs)
            await _ACTIONS[action](connection, user.principal, draft_id)
        else:
            raise BadRequest(f"unknown action '{action}'")
    except RiskOpsError as error:
        draft = await service.get_draft(connection, draft_id)
        context = _draft_context(draft, user, error=error)
        return render(request, "rule_draft.html", context, user, error.status_code)
    return RedirectResponse(f"/rules/drafts/{draft_id}", status_code=303)


async def _backtest(
    request: Request,
    draft_id: str,
    form: dict[str, str],
    user: ConsoleUser,
    connection: WriteConnection,
    tasks: BackgroundTasks,
) -> Response:
    permit(user.principal, Capability.DRAFT_RULES)
    try:
        start = parse_time("from", form.get("from", ""))
        end = parse_time("to", form.get("to", ""))
    except FilterError as problem:
        raise BadRequest(str(problem)) from None
    if start is None or end is None:
        raise BadRequest("a backtest needs a window: from and to")
    job = await service.request_backtest(connection, user.principal, draft_id, start, end)
    runtime = _runtime(request)
    settings = runtime.settings
    thresholds = Thresholds(review=settings.review_threshold, decline=settings.decline_threshold)
    work = partial(run_backtest, runtime.engine, draft_id, start, end, thresholds)
    tasks.add_task(runtime.jobs.run, job["id"], work)
    return render(request, "_backtest_job.html", {"job": job, "draft_id": draft_id}, user, 202)


@router.get("/rules/jobs/{job_id}", response_class=HTMLResponse)
async def job_fragment(request: Request, job_id: str, user: User, draft: str = "") -> Response:
    """A running backtest's progress (htmx polls it); its results once it has finished."""
    try:
        async with _runtime(request).engine.connect() as connection:
            job = await jobs.get(connection, job_id)
    except RiskOpsError as error:
        return render(request, "_backtest_job.html", {"error": error}, user, error.status_code)
    return render(request, "_backtest_job.html", {"job": job, "draft_id": draft}, user)
