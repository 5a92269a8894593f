"""HTTP for models: score a feature payload, the models' schemas, records, drift."""

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from riskops.api.deps import (
    Administrator,
    ReadConnection,
    Reader,
    RuntimeDep,
    Submitter,
    WriteConnection,
)
from riskops.api.params import Cursor, IsoDateTime
from riskops.api.ports import Runtime
from riskops.api.responses import ERRORS
from riskops.core.errors import NotFound, Unavailable
from riskops.ml import catalog, records, repository, service
from riskops.ml.registry import Alias, ModelRegistry
from riskops.ml.schemas import (
    AliasIn,
    AliasOut,
    DriftOut,
    DriftReportOut,
    Metadata,
    ModelVersionOut,
    PredictIn,
    PredictOut,
    PromoteIn,
    PromotionOut,
    RecordDetail,
    RecordPage,
    RollbackOut,
)
from riskops.ml.tasks import ModelTasks

router = APIRouter(prefix="/v1", tags=["models"])


def _tasks(runtime: Runtime) -> ModelTasks:
    if not runtime.settings.model_serving:
        raise Unavailable("model serving is not running in this process")
    return runtime.model_tasks


def _registry(runtime: Runtime) -> ModelRegistry:
    registry = _tasks(runtime).registry
    if registry is None:
        raise Unavailable("the model registry is still starting; retry in a few seconds")
    return registry


@router.post("/predict", response_model=PredictOut, responses=ERRORS)
async def predict(
    body: PredictIn, connection: WriteConnection, runtime: RuntimeDep, principal: Submitter
) -> dict[str, Any]:
    """Score a feature payload with a model; the record is kept with its features and score."""
    tasks = _tasks(runtime)
    model = await records.resolve(
        body.model_id, runtime.models, tasks.registry, runtime.settings.model_name
    )
    record = await records.predict(
        connection, model, body.features, runtime.settings.review_threshold, principal.key_id
    )
    return {**record, "record_id": record["id"]}


@router.get("/metadata", response_model=Metadata, responses=ERRORS)
async def metadata(runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    """Every registered model version with an alias, and its typed feature schema (forms,
    request validation): each field's type, categories, range seen in training, typical value."""
    models = await catalog.served_models(
        _registry(runtime), runtime.models, runtime.settings.model_name
    )
    return {"models": models}


@router.get("/records", response_model=RecordPage, responses=ERRORS)
async def list_records(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    model: str | None = None,
    label: str | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    created_from: IsoDateTime | None = None,
    created_to: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Scored records (predictions and transaction decisions), newest first, one keyset page."""
    limit = min(limit, runtime.settings.page_size_max)
    where = catalog.RecordFilter(model, label, min_score, max_score, created_from, created_to)
    items, next_cursor = await catalog.list_records_page(connection, where, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/records/{record_id}",
    response_model=RecordDetail,
    response_model_exclude_unset=True,
    responses=ERRORS,
)
async def get_record(
    record_id: str,
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    include: Literal["embedding"] | None = None,
) -> dict[str, Any]:
    """One record with its features, score, label, model and explanations
    (`?include=embedding`: its vector too)."""
    record = await catalog.get_record(connection, record_id)
    if include == "embedding":
        record["embedding"] = await runtime.similarity.embedding_of(connection, record_id)
    return record


@router.get("/models/{name}/drift", response_model=DriftOut, responses=ERRORS)
async def drift(
    name: str,
    connection: ReadConnection,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """Drift reports of a model, newest first: PSI per feature and for the score."""
    reports = await repository.list_drift_reports(connection, name, limit)
    return {"model_name": name, "reports": reports}


@router.post(
    "/models/{name}/drift", status_code=201, response_model=DriftReportOut, responses=ERRORS
)
async def measure_drift(
    name: str,
    connection: WriteConnection,
    runtime: RuntimeDep,
    _: Administrator,
    hours: Annotated[float | None, Query(gt=0, le=24 * 90)] = None,
) -> dict[str, Any]:
    """Measure the served champion's drift over the last window now, and store the report."""
    champion = runtime.models.champion
    if name != runtime.settings.model_name or champion is None:
        raise NotFound(f"no champion of model {name!r} is served here", {"model": name})
    _tasks(runtime)
    report = await service.measure_drift(
        runtime.engine, runtime.settings, champion.model, hours=hours
    )
    await service.store_drift(connection, report)
    return report


@router.get("/models/{name}/versions", response_model=list[ModelVersionOut], responses=ERRORS)
async def versions(name: str, runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    """Every registered version of a model with its aliases and holdout metrics."""
    found = await asyncio.to_thread(_registry(runtime).versions, name)
    if not found:
        raise NotFound(f"model {name!r} has no registered version", {"model": name})
    return [
        {
            "version": v.version,
            "aliases": list(v.aliases),
            "metrics": v.metrics,
            "run_id": v.run_id,
            "created_at_ms": v.created_at_ms,
        }
        for v in found
    ]


# Administration of a model's aliases (the served fraud model, or one trained on a table):
# every change is in the admin audit log.
MOVABLE = Literal["challenger", "shadow"]


async def _administered(name: str, runtime: Runtime) -> None:
    """404 unless `name` is the served model or a registered one (trained with --data)."""
    if name == runtime.settings.model_name:
        return
    if not await asyncio.to_thread(_registry(runtime).versions, name):
        raise NotFound(f"model {name!r} has no registered version", {"model": name})


@router.post("/models/{name}/promote", response_model=PromotionOut, responses=ERRORS)
async def promote(
    name: str, body: PromoteIn, runtime: RuntimeDep, admin: Administrator
) -> dict[str, Any]:
    """Make a version the champion if it passes every gate (409 with the reasons if not):
    the served model's gates, or a table model's on its stored holdout."""
    await _administered(name, runtime)
    if name == runtime.settings.model_name:
        result = await service.promote(
            runtime.engine,
            runtime.settings,
            _registry(runtime),
            body.version,
            force=body.force,
            actor=admin.actor(),
        )
    else:
        from riskops.ml import tabular_service  # pandas: loaded when a table model is promoted

        result = await tabular_service.promote_table_model(
            runtime.engine,
            _registry(runtime),
            name,
            body.version,
            force=body.force,
            actor=admin.actor(),
        )
    return {
        "model_name": name,
        "champion": body.version,
        "forced": not result.passed,
        "checks": service.describe_checks(result),
    }


@router.put("/models/{name}/aliases/{alias}", response_model=AliasOut, responses=ERRORS)
async def set_alias(
    name: str,
    alias: MOVABLE,
    body: AliasIn,
    runtime: RuntimeDep,
    admin: Administrator,
) -> dict[str, Any]:
    """Point the challenger (canary traffic) or shadow alias at a version."""
    await _administered(name, runtime)
    previous = await service.set_model_alias(
        runtime.engine,
        runtime.settings,
        _registry(runtime),
        Alias(alias),
        body.version,
        actor=admin.actor(),
        name=name,
    )
    return {"model_name": name, "alias": alias, "version": body.version, "previous": previous}


@router.delete("/models/{name}/aliases/{alias}", response_model=AliasOut, responses=ERRORS)
async def clear_alias(
    name: str, alias: MOVABLE, runtime: RuntimeDep, admin: Administrator
) -> dict[str, Any]:
    """Remove the challenger or shadow alias."""
    await _administered(name, runtime)
    previous = await service.clear_model_alias(
        runtime.engine,
        runtime.settings,
        _registry(runtime),
        Alias(alias),
        actor=admin.actor(),
        name=name,
    )
    return {"model_name": name, "alias": alias, "version": None, "previous": previous}


@router.post("/models/{name}/rollback", response_model=RollbackOut, responses=ERRORS)
async def rollback(name: str, runtime: RuntimeDep, admin: Administrator) -> dict[str, Any]:
    """Point the champion back at the previous champion (409 when there is none)."""
    await _administered(name, runtime)
    current, previous = await service.rollback(
        runtime.engine, runtime.settings, _registry(runtime), actor=admin.actor(), name=name
    )
    return {"model_name": name, "previous_champion": current, "champion": previous}
