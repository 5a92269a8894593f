"""Request dependencies: the runtime, the caller's identity and what it may do."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.api.ports import Runtime
from riskops.auth.roles import Capability, allows
from riskops.auth.service import Principal
from riskops.auth.tokens import looks_like_token
from riskops.core.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(
    auto_error=False, description="API key, or an OIDC token when an issuer is configured"
)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key header")
T = TypeVar("T")


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool (a hop per call).
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def provide(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` what request handlers receive (the app's lifespan calls this)."""
    app.state.runtime = runtime


async def read_connection(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """A connection for reads; nothing it does is committed."""
    async with runtime.engine.connect() as connection:
        yield connection


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]


async def write_connection(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """The request's one transaction: committed when the handler returns, rolled back if it
    raises. Services receive the connection and never begin or commit."""
    async with runtime.engine.begin() as connection:
        yield connection


# scope="function": the commit happens before the response is sent, so a client that got
# its 201 can rely on what it created.
WriteConnection = Annotated[AsyncConnection, Depends(write_connection, scope="function")]


async def authorize(
    runtime: Runtime, raw_key: str | None, capability: Capability, client: str
) -> Principal:
    """Who holds `raw_key`, if allowed `capability`: 401 without a valid key, else 403;
    429 while `client` is locked out after repeated bad keys."""
    if not raw_key:
        raise Unauthorized(
            "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key`"
        )
    return permit(await identify(runtime, raw_key, client), capability)


async def identify(runtime: Runtime, raw: str, client: str) -> Principal:
    """The caller an API key or, when an issuer is configured, a bearer token names.

    Told apart by shape: a JWT has three dot-separated parts, a key none. Bad tokens count
    against `client` like bad keys do."""
    tokens = runtime.tokens
    if tokens is None or not looks_like_token(raw):
        return await runtime.keys.verify(raw, client)
    return await _counted(runtime, client, lambda: tokens.verify(raw))


async def identify_for_sign_in(
    runtime: Runtime, raw: str, client: str
) -> tuple[Principal, datetime | None]:
    """As `identify`, with the moment a token expires (None for a key): the console session
    it opens must not outlive the token."""
    tokens = runtime.tokens
    if tokens is None or not looks_like_token(raw):
        return await runtime.keys.verify(raw, client), None
    return await _counted(runtime, client, lambda: tokens.verify_for_sign_in(raw))


async def _counted(runtime: Runtime, client: str, verify: Callable[[], Awaitable[T]]) -> T:
    throttle = runtime.keys.throttle
    throttle.check(client)
    try:
        return await verify()
    except Unauthorized:
        throttle.failed(client)
        raise


def client_of(request: Request) -> str:
    """The address failed authentications are counted against (the proxy's, unless uvicorn
    runs with --proxy-headers behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def permit(principal: Principal, capability: Capability) -> Principal:
    """The principal if its role allows `capability`, else 403 (API and console alike)."""
    if not allows(principal.role, capability):
        raise Forbidden(
            f"role '{principal.role}' may not {capability.value.replace('_', ' ')}",
            {"role": principal.role.value, "needs": capability.value},
        )
    return principal


def presented_key(request: Request) -> str | None:
    """The API key from `Authorization: Bearer` or `X-API-Key` (for handlers on the hot path)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key")


def require(capability: Capability) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        request: Request,
        runtime: RuntimeDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Principal:
        raw_key = bearer.credentials if bearer else api_key
        return await authorize(runtime, raw_key, capability, client_of(request))

    return dependency


Reader = Annotated[Principal, Depends(require(Capability.READ))]
Submitter = Annotated[Principal, Depends(require(Capability.SUBMIT_PAYMENTS))]
Administrator = Annotated[Principal, Depends(require(Capability.ADMINISTER))]
