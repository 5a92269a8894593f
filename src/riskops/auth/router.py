"""HTTP for administrators: create and revoke API keys."""

from fastapi import APIRouter, Response

from riskops.api.deps import Administrator, RuntimeDep, WriteConnection
from riskops.api.responses import ERRORS
from riskops.auth import service
from riskops.auth.schemas import ApiKeyCreate, ApiKeyCreated
from riskops.db import transaction

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/keys", status_code=201, response_model=ApiKeyCreated, responses=ERRORS)
async def create_key(
    body: ApiKeyCreate, connection: WriteConnection, admin: Administrator
) -> ApiKeyCreated:
    """Create an API key for a role; the key is in this response and nowhere else."""
    created = await service.create_key(connection, body.role, body.name, admin.actor())
    p = created.principal
    return ApiKeyCreated(id=p.key_id, name=p.name, role=p.role, key=created.plaintext)


@router.delete("/keys/{key_id}", status_code=204, responses=ERRORS)
async def revoke_key(key_id: str, runtime: RuntimeDep, admin: Administrator) -> Response:
    """Revoke a key and end its console sessions: refused here at once, everywhere within
    the revocation check period (a second by default)."""
    # Committed before the cache is cleared, so no request can cache the key in between.
    async with transaction(runtime.engine) as connection:
        await service.revoke_key(connection, key_id, admin.actor())
    runtime.keys.forget_revoked()
    return Response(status_code=204)
