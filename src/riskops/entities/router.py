"""HTTP for entity views: one card (by token), account, device, merchant or IP."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader
from riskops.api.responses import ERRORS, json_response
from riskops.db.types import utcnow
from riskops.entities import service
from riskops.entities.service import EntityKind

router = APIRouter(prefix="/v1", tags=["entities"])
TRANSACTIONS_MAX = 500


@router.get("/entities/{kind}/{entity_id}", responses=ERRORS)
async def get_entity(
    kind: EntityKind, entity_id: str, connection: ReadConnection, _: Reader
) -> Response:
    """First/last seen, counts and amounts over 24 h / 7 d / 30 d, outcomes, labels, linked
    entities and open cases."""
    return json_response(await service.summary(connection, kind, entity_id, utcnow()))


@router.get("/entities/{kind}/{entity_id}/transactions", responses=ERRORS)
async def entity_transactions(
    kind: EntityKind,
    entity_id: str,
    connection: ReadConnection,
    _: Reader,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 72,
) -> Response:
    """The entity's payments of the last `hours`, newest first, with decision and case."""
    since = utcnow() - timedelta(hours=hours)
    items: list[dict[str, Any]] = await service.recent(
        connection, kind, entity_id, TRANSACTIONS_MAX, since
    )
    return json_response({"items": items})
