"""Liveness and readiness, without auth: orchestrators call them."""

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import text

from riskops.api.deps import RuntimeDep
from riskops.api.responses import json_response
from riskops.core.errors import Unavailable

router = APIRouter(tags=["health"])

_OK = b'{"status":"ok"}'


@router.get("/health")
async def health() -> Response:
    """Liveness: the process answers."""
    return Response(_OK, media_type="application/json")


@router.get("/ready")
async def ready(runtime: RuntimeDep) -> Response:
    """Readiness: the database and the online store answer."""
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        raise Unavailable("the database is not reachable", {"database": str(error)}) from error
    try:
        await runtime.store.ping()
        checks["online_store"] = "ok"
    except Exception as error:
        raise Unavailable(
            "the online store is not reachable", {"online_store": str(error)}
        ) from error
    return json_response({"status": "ready", "checks": checks})
