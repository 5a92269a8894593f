"""The recommendation queue in the console: what the continuous scan found, highest priority
first, with filters; acknowledge (optionally opening a case or applying the list entry) or
reject with a reason. Actions are plain forms through the same service as the API (its roles
and audit), then a redirect back, so a reload never repeats one."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from riskops.api.deps import ReadConnection, WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.cases.service import CasePolicy
from riskops.core.errors import NotFound, RiskOpsError
from riskops.entities.service import EntityKind
from riskops.recommendations import service
from riskops.recommendations.schemas import AckRequest, RecommendationStatus, RejectRequest
from riskops.web import nav
from riskops.web.filters import FilterError
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
PAGE_SIZE = 50
QUERY_KEYS = ("status", "pattern", "entity_kind", "min_priority")

nav.register(nav.Page("Recommendations", "/recommendations", order=25))


def _filter(query: dict[str, str]) -> service.QueueFilter:
    status, kind, pattern = query["status"], query["entity_kind"], query["pattern"]
    if status and status not in {s.value for s in RecommendationStatus}:
        raise FilterError("`status` must be open, acknowledged or rejected")
    if kind and kind not in {k.value for k in EntityKind}:
        raise FilterError(f"`entity kind` must be one of {', '.join(k.value for k in EntityKind)}")
    if pattern and not pattern.replace("_", "").isalnum():
        raise FilterError("`pattern` is a name such as merchant_confirmed_fraud")
    raw = query["min_priority"]
    try:
        minimum = float(raw) if raw else None
    except ValueError:
        raise FilterError("`min priority` must be a number from 0 to 100") from None
    if minimum is not None and not 0 <= minimum <= 100:
        raise FilterError("`min priority` must be a number from 0 to 100")
    return service.QueueFilter(status or None, pattern or None, kind or None, minimum)


@router.get("/recommendations", response_class=HTMLResponse)
async def queue(request: Request, user: User, connection: ReadConnection) -> Response:
    """The queue: highest priority first, filters, acknowledge or reject."""
    query = {k: request.query_params.get(k, "").strip() for k in QUERY_KEYS}
    if "status" not in request.query_params:
        query["status"] = RecommendationStatus.OPEN.value  # what is waiting for someone
    cursor = request.query_params.get("cursor") or None
    items: list[dict[str, Any]] = []
    next_cursor = None
    error = None
    try:
        items, next_cursor = await service.listed(connection, _filter(query), PAGE_SIZE, cursor)
    except FilterError as problem:
        error = str(problem)
    except RiskOpsError as problem:
        error = problem.message
    active = {k: v for k, v in query.items() if v}
    context = {
        "items": items,
        "query": query,
        "kinds": [k.value for k in EntityKind],
        "patterns": await service.patterns(connection),
        "can_act": user.can(Capability.INVESTIGATE),
        "paged": cursor is not None,
        "first_url": f"/recommendations?{urlencode(active)}",
        "next_url": f"/recommendations?{urlencode({**active, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        "back": f"/recommendations?{urlencode(active)}",
        "error": error,
        "flash": request.query_params.get("flash"),
        "flashed": request.query_params.get("recommendation"),
        "flashed_case": request.query_params.get("case"),
        "problem": request.query_params.get("problem"),
    }
    return render(request, "recommendations.html", context, user, 400 if error else 200)


def _back(form: dict[str, str]) -> str:
    target = form.get("back", "")
    return target if target.startswith("/recommendations") else "/recommendations"


@router.post("/recommendations/{recommendation_id}/{action}", response_class=HTMLResponse)
async def act(
    request: Request,
    recommendation_id: str,
    action: str,
    user: User,
    connection: WriteConnection,
) -> Response:
    """Acknowledge or reject from the console (the API's rules and audit)."""
    runtime: Runtime = request.app.state.runtime
    form = {k: str(v) for k, v in (await request.form()).items()}
    notice: dict[str, str] = {"recommendation": recommendation_id}
    try:
        check_csrf(request, read_session(request), form.get(CSRF_FIELD))
        permit(user.principal, Capability.INVESTIGATE)
        if action == "ack":
            body = AckRequest(
                open_case=form.get("open_case") == "on",
                apply_list_entry=form.get("apply_list_entry") == "on",
                note=form.get("note", "").strip(),
            )
            if body.open_case:
                permit(user.principal, Capability.WORK_CASES)
            if body.apply_list_entry:
                permit(user.principal, Capability.MANAGE_LISTS)
            settings = runtime.settings
            done = await service.acknowledge(
                connection,
                user.principal,
                recommendation_id,
                body,
                CasePolicy(settings.case_join_window, settings.case_sla),
                settings.token_secret(),
            )
            notice["flash"] = "acknowledged" + (
                f", entry added to {done['list_name']}" if done["list_entry"] else ""
            )
            if done["case_id"]:
                notice["case"] = done["case_id"]
        elif action == "reject":
            try:
                rejection = RejectRequest(reason=form.get("reason", "").strip())
            except ValidationError:
                raise FilterError("a rejection needs a reason") from None
            await service.reject(connection, user.principal, recommendation_id, rejection)
            notice["flash"] = "rejected: later scans rank this pattern on this entity lower"
        else:
            return render(request, "error.html", {"error": NotFound("no such action")}, user, 404)
    except FilterError as problem:
        notice["problem"] = str(problem)
    except RiskOpsError as problem:
        notice["problem"] = problem.message
    if "problem" in notice:
        notice.pop("flash", None)
    target = _back(form)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}{urlencode(notice)}", status_code=303)
