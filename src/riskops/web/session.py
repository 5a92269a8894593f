"""Console sign-in: a signed HttpOnly cookie holding a session id and a CSRF token.

The API key itself is posted once and never stored in the cookie. The session lives in the
database (only a hash of its id): signing out, revoking the key or reaching the maximum age
ends it on every process, and a copied cookie opens nothing afterwards. The session is
handled here rather than by a middleware, so the JSON hot path never parses console cookies.
"""

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from riskops.api.deps import permit
from riskops.api.ports import Runtime
from riskops.auth import sessions
from riskops.auth.roles import Capability, allows
from riskops.auth.service import Principal
from riskops.core.errors import Forbidden

COOKIE = "riskops_session"
CSRF_FIELD = "csrf_token"
SESSION_FIELD = "sid"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No valid console session: the handler sends the browser to the sign-in page."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    csrf: str

    def can(self, capability: Capability) -> bool:
        return allows(self.principal.role, capability)


def _serializer(runtime: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.settings.session_key(), salt="riskops.console.session")


def read_session(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer(runtime).loads(raw, max_age=runtime.settings.session_max_age_seconds)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def write_session(request: Request, response: Response, data: dict[str, Any]) -> None:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    response.set_cookie(
        COOKIE,
        _serializer(runtime).dumps(data),
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
        path="/",
    )


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def pre_session(request: Request) -> dict[str, Any]:
    """The session, with a CSRF token for the sign-in form when there is none yet."""
    data = read_session(request)
    if CSRF_FIELD not in data:
        data = {CSRF_FIELD: new_csrf()}
    return data


def check_csrf(request: Request, data: dict[str, Any], submitted: str | None) -> None:
    """Session-bound token: the form field (or HTMX header) must equal the session's."""
    expected = data.get(CSRF_FIELD)
    given = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise Forbidden(
            "the form's security token is missing or stale; reload the page and try again",
            {"reason": "csrf"},
        )


async def signed_in(request: Request) -> ConsoleUser | None:
    """The user of the cookie's session if it is still live (one indexed read), else None."""
    data = read_session(request)
    session_id = data.get(SESSION_FIELD)
    if not isinstance(session_id, str):
        return None
    runtime: Runtime = request.app.state.runtime
    async with runtime.engine.connect() as connection:
        principal = await sessions.session_principal(connection, session_id)
    return ConsoleUser(principal, str(data.get(CSRF_FIELD, ""))) if principal else None


async def current_user(request: Request) -> ConsoleUser:
    """The signed-in user, or SignInRequired (redirect) when there is no live session."""
    user = await signed_in(request)
    if user is None:
        had_session = SESSION_FIELD in read_session(request)
        raise SignInRequired("your session has ended; sign in again" if had_session else None)
    runtime: Runtime = request.app.state.runtime
    runtime.console_limits.take(user.principal.key_id)  # 429 with Retry-After past the limit
    return user


async def viewer(request: Request) -> ConsoleUser:
    """Any signed-in role may read: the same rule as the API's Reader."""
    user = await current_user(request)
    permit(user.principal, Capability.READ)
    return user
