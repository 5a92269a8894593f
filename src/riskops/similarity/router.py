"""HTTP for similar cases: the records nearest a record or a feature payload."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskops.api.deps import ReadConnection, Reader, RuntimeDep
from riskops.api.params import IsoDateTime
from riskops.api.responses import ERRORS
from riskops.similarity.schemas import (
    K_DEFAULT,
    Label,
    NearestIn,
    NearestOut,
    NeighbourFilters,
    RecordOutcome,
)

router = APIRouter(prefix="/v1", tags=["records"])


@router.get("/records/nearest", response_model=NearestOut, responses=ERRORS)
async def nearest_to_record(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    record_id: Annotated[str, Query(min_length=1, max_length=64)],
    k: Annotated[int, Query(ge=1, le=1000)] = K_DEFAULT,
    created_from: IsoDateTime | None = None,
    created_to: IsoDateTime | None = None,
    outcome: RecordOutcome | None = None,
    label: Label | None = None,
    model: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """The k records most similar to a record (itself excluded), nearest first."""
    where = NeighbourFilters(
        created_from=created_from,
        created_to=created_to,
        outcome=outcome,
        label=label,
        model=model,
    )
    similarity = runtime.similarity
    vector = await similarity.vector_of(connection, record_id)
    items = await similarity.nearest(connection, vector, k, where.to_filter(), record_id)
    return {"embedding": str(similarity.embedding), "items": items}


@router.post("/records/nearest", response_model=NearestOut, responses=ERRORS)
async def nearest(
    body: NearestIn, connection: ReadConnection, runtime: RuntimeDep, _: Reader
) -> dict[str, Any]:
    """The k records most similar to a record or a feature payload, nearest first."""
    similarity = runtime.similarity
    if body.record_id is not None:
        vector = await similarity.vector_of(connection, body.record_id)
    else:
        assert body.features is not None
        vector = await similarity.vector_for_features(connection, body.features)
    items = await similarity.nearest(connection, vector, body.k, body.to_filter(), body.record_id)
    return {"embedding": str(similarity.embedding), "items": items}
