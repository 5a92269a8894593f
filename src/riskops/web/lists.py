"""Lists in the console: every list with its live entries, one list's entries, and forms to
create a list, add entries and remove one. Viewers read; list editors (the capability the
API asks for) change. Pages call the lists service, so every change is audited the same way."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskops.api.deps import WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth import service as keys
from riskops.auth.roles import Capability
from riskops.core.errors import BadRequest, RiskOpsError
from riskops.lists import service
from riskops.rules.lists import ListKind, ListPurpose
from riskops.web import nav
from riskops.web.filters import FilterError, parse_time
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]

nav.register(nav.Page("Lists", "/lists", order=46))  # next to Rules (45): rules name lists

# The API's own bounds (lists.schemas), restated because forms skip pydantic.
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MAX_VALUES: Final = 10_000
_PAGE: Final = 200


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, read_session(request), form.get(CSRF_FIELD))
    return form


def _text(field: str, raw: str, limit: int, *, required: bool = False) -> str:
    value = raw.strip()
    if "\x00" in value or len(value) > limit:
        raise BadRequest(f"the {field} must be at most {limit} characters", {"field": field})
    if required and not value:
        raise BadRequest(f"the {field} is required", {"field": field})
    return value


def _listing_context(lists: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "lists": lists,
        "kinds": [k.value for k in ListKind],
        "purposes": [p.value for p in ListPurpose],
        "form": {"name": "", "kind": "card", "purpose": "block", "description": ""},
        **extra,
    }


@router.get("/lists", response_class=HTMLResponse)
async def lists_page(request: Request, user: User) -> Response:
    """Every list: what it holds, what rules use it for, how many entries are live."""
    async with _runtime(request).engine.connect() as connection:
        found = await service.lists(connection)
    return render(request, "lists.html", _listing_context(found), user)


@router.post("/lists", response_class=HTMLResponse)
async def create_list(request: Request, user: User, connection: WriteConnection) -> Response:
    """Create an empty list, then open it to add entries."""
    form = await _form(request)
    try:
        permit(user.principal, Capability.MANAGE_LISTS)
        name = form.get("name", "").strip()
        if not _NAME.fullmatch(name):
            raise BadRequest(
                "a list name is lowercase letters, digits and underscores, starting with a "
                "letter (at most 64 characters), e.g. blocked_cards",
                {"field": "name"},
            )
        kind, purpose = form.get("kind", ""), form.get("purpose", "")
        if kind not in {k.value for k in ListKind} or purpose not in {p.value for p in ListPurpose}:
            raise BadRequest("choose what the list holds and what it is for")
        description = _text("description", form.get("description", ""), 500)
        await service.create_list(
            connection, user.principal.actor(), name, ListKind(kind), ListPurpose(purpose),
            description,
        )  # fmt: skip
    except RiskOpsError as error:
        found = await service.lists(connection)
        context = _listing_context(found, error=error, form=form)
        return render(request, "lists.html", context, user, error.status_code)
    return RedirectResponse(f"/lists/{quote(name)}", status_code=303)


def _dated(entry: dict[str, Any], now: datetime, names: dict[str, str]) -> dict[str, Any]:
    """An entry with real datetimes (the service speaks ISO strings, as the API does) and
    its author's key name (entries keep the key id, which no analyst recognises)."""
    expires = datetime.fromisoformat(entry["expires_at"]) if entry["expires_at"] else None
    return {
        **entry,
        "created_at": datetime.fromisoformat(entry["created_at"]),
        "expires_at": expires,
        "expired": expires is not None and expires <= now,
        "who": names.get(entry["created_by"], entry["created_by"]),
    }


async def _list_context(request: Request, name: str, cursor: str, **extra: Any) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as connection:
        found = {row["name"]: row for row in await service.lists(connection)}
        items, next_cursor = await service.entries(connection, name, cursor or None, _PAGE)
        names = await keys.key_names(connection, {item["created_by"] for item in items})
    now = datetime.now(UTC)
    return {
        "lst": found[name],
        "entries": [_dated(item, now, names) for item in items],
        "cursor": cursor,
        "next_cursor": next_cursor,
        "values": "",
        "reason": "",
        "expires": "",
        **extra,
    }


@router.get("/lists/{name}", response_class=HTMLResponse)
async def list_page(
    request: Request,
    name: str,
    user: User,
    cursor: str = "",
    added: int = -1,
    renewed: int = 0,
    removed: str = "",
) -> Response:
    """One list's entries, expired ones too (marked), with the forms to change them."""
    try:
        context = await _list_context(request, name, cursor[:255])
    except RiskOpsError as error:
        return render(request, "error.html", {"error": error}, user, error.status_code)
    context.update(added=added, renewed=renewed, removed=removed[:64])
    return render(request, "list.html", context, user)


@router.post("/lists/{name}/entries", response_class=HTMLResponse)
async def add_entries(
    request: Request, name: str, user: User, connection: WriteConnection
) -> Response:
    """Add one value per line (all or none); values already there get the new reason."""
    form = await _form(request)
    try:
        permit(user.principal, Capability.MANAGE_LISTS)
        values = [line.strip() for line in form.get("values", "").splitlines() if line.strip()]
        if not values:
            raise BadRequest("enter at least one value, one per line", {"field": "values"})
        if len(values) > _MAX_VALUES:
            raise BadRequest(f"at most {_MAX_VALUES:,} values at a time", {"field": "values"})
        reason = _text("reason", form.get("reason", ""), 500, required=True)
        try:
            expires = parse_time("expiry", form.get("expires", "").strip())
        except FilterError as problem:
            raise BadRequest(str(problem), {"field": "expires"}) from None
        added = await service.add_entries(
            connection, user.principal.actor(), name, values, reason, expires,
            _runtime(request).settings.token_secret(),
        )  # fmt: skip
    except RiskOpsError as error:
        return await _refused(request, name, user, error, form)
    counts = f"added={len(added['added'])}&renewed={len(added['renewed'])}"
    return RedirectResponse(f"/lists/{quote(name)}?{counts}", status_code=303)


@router.post("/lists/{name}/entries/remove", response_class=HTMLResponse)
async def remove_entry(
    request: Request, name: str, user: User, connection: WriteConnection
) -> Response:
    """Remove one entry (the value as listed: a card by its token, a network in CIDR)."""
    form = await _form(request)
    value = form.get("value", "")
    try:
        permit(user.principal, Capability.MANAGE_LISTS)
        await service.remove_entry(
            connection, user.principal.actor(), name, value,
            _runtime(request).settings.token_secret(),
        )  # fmt: skip
    except RiskOpsError as error:
        return await _refused(request, name, user, error, {})
    return RedirectResponse(f"/lists/{quote(name)}?removed={quote(value[:16])}", status_code=303)


async def _refused(
    request: Request, name: str, user: ConsoleUser, error: RiskOpsError, form: dict[str, str]
) -> Response:
    """The list page again, the refusal in plain words and the form as it was typed."""
    try:
        context = await _list_context(request, name, "")
    except RiskOpsError as missing:
        return render(request, "error.html", {"error": missing}, user, missing.status_code)
    lines = [line for line in form.get("values", "").splitlines() if line.strip()]
    problems = [
        # Line numbers count the non-blank lines the service saw; a card is never echoed.
        {"line": p["index"] + 1, "reason": p["reason"]}
        for p in error.details.get("errors", [])
        if "index" in p and p["index"] < len(lines)
    ]
    # Card numbers typed in are never sent back to the browser: the analyst pastes again.
    cards = context["lst"]["kind"] == ListKind.CARD.value
    context.update(
        error=error,
        problems=problems,
        values="" if cards else form.get("values", ""),
        reason=form.get("reason", ""),
        expires=form.get("expires", ""),
        added=-1,
        renewed=0,
        removed="",
    )
    return render(request, "list.html", context, user, error.status_code)
