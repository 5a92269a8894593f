"""HTTP for administrators: read the administrative audit log."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from riskops.api.deps import Administrator, ReadConnection, RuntimeDep
from riskops.api.responses import ERRORS, json_response
from riskops.audit import service
from riskops.audit.schemas import AuditPage

router = APIRouter(prefix="/v1/admin", tags=["admin"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 500


@router.get("/audit", response_model=AuditPage, responses=ERRORS)
async def list_audit(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Administrator,
    actor: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    action: service.AdminAction | None = None,
    target: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    at_from: Annotated[datetime | None, Query(alias="from")] = None,
    at_to: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: str | None = None,
) -> Response:
    """Administrative actions newest first (key and model changes), filtered, keyset-paged."""
    where = service.AuditFilter(
        actor=actor,
        action=action.value if action else None,
        target=target,
        at_from=at_from,
        at_to=at_to,
    )
    items, next_cursor = await service.list_entries(
        connection, where, limit, cursor or None, runtime.settings.page_size_max
    )
    return json_response({"items": items, "next_cursor": next_cursor})
