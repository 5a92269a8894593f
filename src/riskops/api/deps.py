"""Request dependencies: the runtime, the caller's identity and what it may do."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.roles import Capability, allows
from riskops.auth.service import Principal
from riskops.core.errors import Forbidden, Unauthorized
from riskops.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key header")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def read_connection(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """A connection for reads; nothing it does is committed."""
    async with runtime.engine.connect() as connection:
        yield connection


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]


def require(capability: Capability) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        runtime: RuntimeDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Principal:
        raw = bearer.credentials if bearer is not None else api_key
        if not raw:
            raise Unauthorized(
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key`"
            )
        principal = await runtime.keys.verify(raw)
        if not allows(principal.role, capability):
            raise Forbidden(
                f"role '{principal.role}' may not {capability.value.replace('_', ' ')}",
                {"role": principal.role.value, "needs": capability.value},
            )
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require(Capability.READ))]
Submitter = Annotated[Principal, Depends(require(Capability.SUBMIT_PAYMENTS))]
Administrator = Annotated[Principal, Depends(require(Capability.ADMINISTER))]
