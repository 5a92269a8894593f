"""Console pages: sign-in, the dashboard and the transactions table with its detail view."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskops.api.deps import client_of, identify_for_sign_in
from riskops.api.ports import Runtime
from riskops.auth import sessions
from riskops.cases import service as cases
from riskops.core.errors import NotFound, RiskOpsError, Unauthorized
from riskops.db import transaction
from riskops.decisions import service as decisions
from riskops.decisions.policy import Outcome
from riskops.labels.service import labels_of
from riskops.web import nav
from riskops.web.filters import FilterError, parse_score, parse_time
from riskops.web.session import (
    CSRF_FIELD,
    SESSION_FIELD,
    ConsoleUser,
    check_csrf,
    new_csrf,
    pre_session,
    read_session,
    signed_in,
    viewer,
    write_session,
)
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
PAGE_SIZE = 50
RECENT = 15

nav.register(nav.Page("Dashboard", "/", order=10))
nav.register(nav.Page("Transactions", "/transactions", order=30))


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another origin.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    if await signed_in(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    data = pre_session(request)
    response: Response = render(
        request,
        "login.html",
        {"csrf": data[CSRF_FIELD], "next": next or "/", "tokens": _runtime(request).tokens},
    )
    write_session(request, response, data)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Exchange an API key (or, with an OIDC issuer configured, a token) for a console
    session; neither is kept in the cookie."""
    form = await request.form()
    runtime = _runtime(request)
    data = pre_session(request)
    target = _safe_next(str(form.get("next") or "/"))
    raw_key = str(form.get("api_key") or "").strip()
    try:
        check_csrf(request, data, str(form.get(CSRF_FIELD) or ""))
        if not raw_key:
            raise Unauthorized("an API key is required to sign in")
        # Bad keys count against this client: repeated ones lock it out (429, Retry-After).
        principal, not_after = await identify_for_sign_in(runtime, raw_key, client_of(request))
    except RiskOpsError as error:
        refused = render(
            request,
            "login.html",
            {"csrf": data[CSRF_FIELD], "next": target, "error": error, "tokens": runtime.tokens},
            status_code=error.status_code,
        )
        refused.headers.update(error.headers)
        write_session(request, refused, data)
        return refused
    async with transaction(runtime.engine) as connection:
        if isinstance(previous := data.get(SESSION_FIELD), str):
            await sessions.end_session(connection, previous)
        session_id = await sessions.open_session(
            connection, principal, runtime.settings.session_max_age, not_after
        )
    response = RedirectResponse(target, status_code=303)
    # A fresh session id and token on sign-in: neither seen before is worth anything after.
    write_session(request, response, {SESSION_FIELD: session_id, CSRF_FIELD: new_csrf()})
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the console session, server-side: a copy of the cookie opens nothing afterwards."""
    form = await request.form()
    data = read_session(request)
    check_csrf(request, data, str(form.get(CSRF_FIELD) or ""))
    if isinstance(session_id := data.get(SESSION_FIELD), str):
        async with transaction(_runtime(request).engine) as connection:
            await sessions.end_session(connection, session_id)
    response = RedirectResponse("/login", status_code=303)
    write_session(request, response, {CSRF_FIELD: new_csrf()})
    return response


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, user: User) -> Response:
    """Totals, rates, latency, charts over time and the live feed."""
    async with _runtime(request).engine.connect() as connection:
        stats = await decisions.dashboard_stats(connection)
        timeline = await decisions.timeline(connection, decisions.WINDOWS["24h"])
        recent, _ = await decisions.list_transactions(
            connection, decisions.TransactionFilter(), RECENT, None, RECENT
        )
    return render(
        request,
        "dashboard.html",
        {"stats": stats, "timeline": timeline, "window": "24h", "recent": recent},
        user,
    )


def _filter(query: dict[str, str]) -> decisions.TransactionFilter:
    status = query.get("status", "")
    if status and status not in {o.value for o in Outcome}:
        raise FilterError(f"`status` must be one of {', '.join(o.value for o in Outcome)}")
    return decisions.TransactionFilter(
        account_id=query.get("account_id") or None,
        occurred_from=parse_time("from", query.get("from", "")),
        occurred_to=parse_time("to", query.get("to", "")),
        status=status or None,
        min_score=parse_score("min_score", query.get("min_score", "")),
        max_score=parse_score("max_score", query.get("max_score", "")),
    )


@router.get("/transactions", response_class=HTMLResponse)
async def transactions(request: Request, user: User) -> Response:
    """Transactions newest first with filters and keyset pages."""
    keys = ("account_id", "from", "to", "status", "min_score", "max_score")
    query = {k: request.query_params.get(k, "").strip() for k in keys}
    cursor = request.query_params.get("cursor") or None
    items: list[dict[str, Any]] = []
    next_cursor = None
    error: str | None = None
    try:
        where = _filter(query)
        async with _runtime(request).engine.connect() as connection:
            items, next_cursor = await decisions.list_transactions(
                connection, where, PAGE_SIZE, cursor, PAGE_SIZE
            )
    except FilterError as problem:
        error = str(problem)
    except RiskOpsError as problem:
        error = problem.message
    active = {k: v for k, v in query.items() if v}
    next_url = (
        f"/transactions?{urlencode({**active, 'cursor': next_cursor})}" if next_cursor else None
    )
    context = {
        "items": items,
        "query": query,
        "filtered": bool(active),
        "paged": cursor is not None,
        "first_url": f"/transactions?{urlencode(active)}",
        "next_url": next_url,
        "error": error,
    }
    template = (
        "_transactions_table.html"
        if request.headers.get("hx-target") == "results"
        else "transactions.html"
    )
    return render(request, template, context, user, status_code=400 if error else 200)


@router.get("/transactions/{transaction_id}", response_class=HTMLResponse)
async def transaction_detail(request: Request, transaction_id: str, user: User) -> Response:
    """One transaction: its decision, features snapshot, audit and the account's balance."""
    try:
        async with _runtime(request).engine.connect() as connection:
            detail = await decisions.transaction_detail(connection, transaction_id)
            balance = await _runtime(request).balances.balance(connection, detail["account_id"])
            submitter = await decisions.submitter_name(connection, detail)
            labels = await labels_of(connection, transaction_id)
            case_id = await cases.case_of(connection, transaction_id)
    except NotFound as error:
        return render(request, "error.html", {"error": error}, user, status_code=404)
    context = {"t": detail, "balance": balance, "submitter": submitter, "labels": labels,
               "case_id": case_id}  # fmt: skip
    return render(request, "transaction.html", context, user)
