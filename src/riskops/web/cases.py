"""Console pages of the review queue: the queue, the case page and its actions, entity pages.

Actions are plain forms (POST, then a redirect back: a reload never repeats one); the queue's
keyboard shortcuts press the same buttons (static/cases.js).
"""

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from riskops.api.deps import ReadConnection, WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.cases import quality, service
from riskops.cases.schemas import CaseSort, CaseStatus, DispositionCreate, DispositionKind
from riskops.core.errors import BadRequest, NotFound, RiskOpsError
from riskops.core.payment import Channel
from riskops.db.types import utcnow
from riskops.entities import service as entities
from riskops.entities.service import EntityKind
from riskops.web import nav
from riskops.web.filters import FilterError
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
PAGE_SIZE = 50
QUERY_KEYS = ("status", "assignee", "reason_code", "min_amount", "max_amount", "country",
              "channel", "min_age_hours", "sort")  # fmt: skip

nav.register(nav.Page("Review queue", "/cases", order=20))


def _amount(name: str, raw: str) -> int | None:
    """Amounts are typed in major units (12.50) and kept in minor units."""
    if not raw:
        return None
    try:
        value = round(float(raw) * 100)
    except ValueError:
        raise FilterError(f"`{name}` must be an amount such as 12.50") from None
    if value < 0:
        raise FilterError(f"`{name}` must not be negative")
    return value


def _filter(query: dict[str, str], user: ConsoleUser) -> tuple[service.CaseFilter, CaseSort]:
    status = query["status"]
    if status and status not in {s.value for s in CaseStatus}:
        raise FilterError("`status` must be open, assigned or closed")
    channel = query["channel"]
    if channel and channel not in {c.value for c in Channel}:
        raise FilterError(f"`channel` must be one of {', '.join(c.value for c in Channel)}")
    sort = query["sort"] or CaseSort.PRIORITY.value
    if sort not in {s.value for s in CaseSort}:
        raise FilterError("`sort` must be priority, age or sla")
    age = query["min_age_hours"]
    try:
        older = utcnow() - timedelta(hours=float(age)) if age else None
    except ValueError:
        raise FilterError("`age` must be a number of hours") from None
    assignee = query["assignee"]
    return (
        service.CaseFilter(
            status=status or None,
            assignee=user.principal.key_id if assignee == "me" else assignee or None,
            reason_code=query["reason_code"].upper() or None,
            min_amount=_amount("min_amount", query["min_amount"]),
            max_amount=_amount("max_amount", query["max_amount"]),
            country=query["country"].upper() or None,
            channel=channel or None,
            opened_before=older,
        ),
        CaseSort(sort),
    )


@router.get("/cases", response_class=HTMLResponse)
async def queue(request: Request, user: User, connection: ReadConnection) -> Response:
    """The review queue: highest priority first, filters, claim."""
    query = {k: request.query_params.get(k, "").strip() for k in QUERY_KEYS}
    if "status" not in request.query_params:
        query["status"] = CaseStatus.OPEN.value  # what is waiting for someone
    cursor = request.query_params.get("cursor") or None
    items: list[dict[str, Any]] = []
    next_cursor = None
    error = None
    try:
        where, sort = _filter(query, user)
        items, next_cursor = await service.list_cases(connection, where, sort, PAGE_SIZE, cursor)
    except FilterError as problem:
        error = str(problem)
    except RiskOpsError as problem:
        error = problem.message
    active = {k: v for k, v in query.items() if v}
    context = {
        "items": items,
        "query": query,
        "channels": [c.value for c in Channel],
        "me": user.principal.key_id,
        "can_work": user.can(Capability.WORK_CASES),
        "paged": cursor is not None,
        "first_url": f"/cases?{urlencode(active)}",
        "next_url": f"/cases?{urlencode({**active, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        "back": f"/cases?{urlencode(active)}",
        "error": error,
        "flash": request.query_params.get("flash"),
        "flashed_case": request.query_params.get("case"),
    }
    return render(request, "cases.html", context, user, status_code=400 if error else 200)


async def _case_page(
    request: Request,
    user: ConsoleUser,
    connection: Any,
    case_id: str,
    error: RiskOpsError | None = None,
) -> Response:
    try:
        case = await service.detail(connection, case_id)
    except NotFound as missing:
        return render(request, "error.html", {"error": missing}, user, status_code=404)
    context = {
        "c": case,
        "opening": next(
            (t for t in case["transactions"] if t["id"] == case["transaction_id"]), None
        ),
        "me": user.principal.key_id,
        "can_work": user.can(Capability.WORK_CASES),
        "dispositions": [d.value for d in DispositionKind],
        "error": error,
        "flash": request.query_params.get("flash"),
    }
    return render(
        request, "case.html", context, user, status_code=error.status_code if error else 200
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: str, user: User, connection: ReadConnection
) -> Response:
    """One case: payment, decision, entity histories, notes, disposition."""
    return await _case_page(request, user, connection, case_id)


async def _form(request: Request, user: ConsoleUser) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, read_session(request), form.get(CSRF_FIELD))
    permit(user.principal, Capability.WORK_CASES)
    return form


def _back(form: dict[str, str], default: str) -> str:
    target = form.get("back", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@router.post("/cases/{case_id}/{action}", response_class=HTMLResponse)
async def case_action(
    request: Request, case_id: str, action: str, user: User, connection: WriteConnection
) -> Response:
    """Claim, note, dispose or reopen from the console (the API's rules and audit)."""
    runtime: Runtime = request.app.state.runtime
    actor = user.principal.actor()
    try:
        form = await _form(request, user)
        if action == "assign":
            await service.assign(connection, case_id, user.principal.key_id, actor)
            flash = "claimed"
        elif action == "notes":
            text = form.get("text", "").strip()
            if not text:
                raise FilterError("a note needs some text")
            await service.add_note(connection, case_id, text, actor)
            flash = "note added"
        elif action == "disposition":
            try:
                body = DispositionCreate(
                    disposition=form.get("disposition", ""),
                    reason=form.get("reason", "").strip(),
                )
            except ValidationError as invalid:
                first = invalid.errors(include_input=False)[0]
                raise FilterError(f"{first['loc'][0]}: {first['msg']}") from None
            await service.dispose(connection, case_id, body, actor, runtime.labels)
            flash = f"closed as {body.disposition.value}"
        elif action == "reopen":
            await service.reopen(connection, case_id, actor)
            flash = "reopened"
        else:
            return render(request, "error.html", {"error": NotFound("no such action")}, user, 404)
    except FilterError as problem:
        return await _case_page(request, user, connection, case_id, BadRequest(str(problem)))
    except RiskOpsError as problem:
        return await _case_page(request, user, connection, case_id, problem)
    target = _back(form, f"/cases/{case_id}")
    joiner = "&" if "?" in target else "?"
    notice = {"flash": flash, "case": case_id} if target.startswith("/cases?") else {"flash": flash}
    return RedirectResponse(f"{target}{joiner}{urlencode(notice)}", status_code=303)


@router.get("/entities/{kind}/{entity_id}", response_class=HTMLResponse)
async def entity_page(
    request: Request, kind: str, entity_id: str, user: User, connection: ReadConnection
) -> Response:
    """One card (by token), account, device, merchant or IP: totals, links, payments, cases."""
    if kind not in {k.value for k in EntityKind}:
        return render(
            request, "error.html", {"error": NotFound(f"no entity kind {kind}")}, user, 404
        )
    entity_kind = EntityKind(kind)
    try:
        summary = await entities.summary(connection, entity_kind, entity_id, utcnow())
    except NotFound as missing:
        return render(request, "error.html", {"error": missing}, user, status_code=404)
    recent = await entities.recent(connection, entity_kind, entity_id, PAGE_SIZE)
    return render(request, "entity.html", {"e": summary, "recent": recent}, user)


@router.get("/cases-figures", response_class=HTMLResponse)
async def figures(request: Request, user: User, connection: ReadConnection) -> Response:
    """The supervisor's figures for the dashboard (a fragment): workload, ageing, outcomes."""
    permit(user.principal, Capability.WORK_CASES)  # the API's rule for /v1/quality
    data = await quality.figures(connection, utcnow(), timedelta(days=7))
    return render(request, "_case_figures.html", {"q": data}, user)
