"""HTTP for the recommendation queue: list, read, acknowledge, reject."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, WriteConnection, permit, require
from riskops.api.params import Cursor
from riskops.api.responses import ERRORS, json_response
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.cases.service import CasePolicy
from riskops.entities.service import EntityKind
from riskops.investigations.schemas import ULID
from riskops.recommendations import service
from riskops.recommendations.repository import QueueFilter
from riskops.recommendations.schemas import (
    AckRequest,
    RecommendationOut,
    RecommendationPage,
    RecommendationStatus,
    RejectRequest,
)

router = APIRouter(prefix="/v1", tags=["recommendations"])
Investigator = Annotated[Principal, Depends(require(Capability.INVESTIGATE))]
RecommendationId = Annotated[str, Path(pattern=ULID)]
PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


@router.get("/recommendations", response_model=RecommendationPage, responses=ERRORS)
async def list_recommendations(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    status: RecommendationStatus | None = None,
    pattern: Annotated[str | None, Query(pattern=PATTERN)] = None,
    entity_kind: EntityKind | None = None,
    min_priority: Annotated[float | None, Query(ge=0, le=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Cursor = None,
) -> Response:
    """The queue the continuous scan fills, highest priority first, a keyset page at a time."""
    where = QueueFilter(
        status=status.value if status else None,
        pattern=pattern,
        entity_kind=entity_kind.value if entity_kind else None,
        min_priority=min_priority,
    )
    items, next_cursor = await service.listed(
        connection, where, min(limit, runtime.settings.page_size_max), cursor
    )
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get(
    "/recommendations/{recommendation_id}", response_model=RecommendationOut, responses=ERRORS
)
async def get_recommendation(
    recommendation_id: RecommendationId, connection: ReadConnection, _: Reader
) -> Response:
    """One recommendation with its evidence and what was done about it."""
    return json_response(await service.get(connection, recommendation_id))


@router.post(
    "/recommendations/{recommendation_id}/ack", response_model=RecommendationOut, responses=ERRORS
)
async def acknowledge_recommendation(
    recommendation_id: RecommendationId,
    body: AckRequest,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: Investigator,
) -> Response:
    """Accept the lead; optionally open a case and put the entity on the recommended list."""
    if body.open_case:
        permit(principal, Capability.WORK_CASES)
    if body.apply_list_entry:
        permit(principal, Capability.MANAGE_LISTS)
    settings = runtime.settings
    found = await service.acknowledge(
        connection,
        principal,
        recommendation_id,
        body,
        CasePolicy(settings.case_join_window, settings.case_sla),
        settings.token_secret(),
    )
    return json_response(found)


@router.post(
    "/recommendations/{recommendation_id}/reject",
    response_model=RecommendationOut,
    responses=ERRORS,
)
async def reject_recommendation(
    recommendation_id: RecommendationId,
    body: RejectRequest,
    connection: WriteConnection,
    principal: Investigator,
) -> Response:
    """Not a lead (a reason is required): later scans rank this pattern on this entity lower."""
    return json_response(await service.reject(connection, principal, recommendation_id, body))
