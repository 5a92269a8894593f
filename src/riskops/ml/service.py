"""Model lifecycle: train, register, gate and promote, roll back, measure drift.

Registry calls are blocking (MLflow's client); callers on the event loop go through
`asyncio.to_thread`. Nothing here holds a database transaction open during training.
"""

import asyncio
import logging
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.audit import service as audit
from riskops.audit.service import SYSTEM, Actor, AdminAction
from riskops.core.errors import Conflict, NotFound, Unprocessable
from riskops.core.ids import new_id
from riskops.db import transaction
from riskops.features import FEATURE_NAMES
from riskops.ml import repository
from riskops.ml.dataset import build_dataset, frame_from_export
from riskops.ml.drift import SCORE, psi_report
from riskops.ml.gates import GateInputs, GateResult, evaluate_gates
from riskops.ml.metrics import classification_metrics
from riskops.ml.observability import MODEL_PSI
from riskops.ml.registry import (
    Alias,
    LoadedModel,
    MlflowRegistry,
    ModelRegistry,
    ModelVersion,
    default_tracking_uri,
)
from riskops.ml.synthetic import featurise, synthetic_payments
from riskops.ml.training import TrainedModel, TrainingConfig, time_split, train_model
from riskops.settings import Settings

log = logging.getLogger(__name__)
MIN_TRAINING_ROWS = 200


class NotEnoughData(Unprocessable):
    code = "not_enough_data"


class GateRefused(Conflict):
    code = "promotion_refused"


def open_registry(settings: Settings) -> ModelRegistry:
    """The registry adapter the settings choose (MLflow: a local SQLite store or a server)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uri = settings.mlflow_tracking_uri or default_tracking_uri(settings.data_dir)
    return MlflowRegistry(uri, artifact_root=artifact_root(settings))


def artifact_root(settings: Settings) -> Path | None:
    """Where new experiments keep model files: the data folder for a local store; for a
    tracking server, the server's own artifact store (None), because processes on other hosts
    (API replicas, the worker, jobs) must download what another one logged."""
    uri = settings.mlflow_tracking_uri
    if uri is not None and uri.startswith(("http://", "https://")):
        return None
    return settings.data_dir / "mlartifacts"


def train_synthetic(
    payments: int, seed: int = 7, config: TrainingConfig | None = None
) -> TrainedModel:
    """A model on labelled synthetic history featurised by the production definitions."""
    frame = featurise(synthetic_payments(payments, seed=seed))
    return train_model(frame, list(FEATURE_NAMES), config=config or TrainingConfig(max_rounds=300))


def bootstrap_champion(settings: Settings, registry: ModelRegistry) -> ModelVersion | None:
    """Train and crown a first champion when the registry has none; None if one exists."""
    if registry.alias_version(settings.model_name, Alias.CHAMPION) is not None:
        return None
    model = train_synthetic(settings.model_bootstrap_payments)
    version = registry.register(settings.model_name, model, tags={"riskops.source": "synthetic"})
    registry.set_alias(settings.model_name, Alias.CHAMPION, version.version)
    return version


@dataclass(frozen=True)
class TrainingOutcome:
    version: ModelVersion
    alias: Alias
    metrics: dict[str, float]
    rows: dict[str, int]


async def train_from_log(
    engine: AsyncEngine,
    settings: Settings,
    registry: ModelRegistry,
    start: datetime,
    end: datetime,
    config: TrainingConfig | None = None,
    actor: Actor = SYSTEM,
    source: str = "feature-log",
) -> TrainingOutcome:
    """Train on logged vectors of [start, end) with labels known at `end`; register the result
    as challenger (champion when there is none yet). `source` other than the feature log names
    an offline export (`riskops export`) holding the same facts as Parquet."""
    if source == "feature-log":
        frame = await build_dataset(engine, start, end)
    else:
        frame = await asyncio.to_thread(frame_from_export, source, start, end)
    positives = int(frame["label"].sum()) if len(frame) else 0
    if len(frame) < MIN_TRAINING_ROWS or positives < 5 or positives == len(frame):
        raise NotEnoughData(
            f"{len(frame)} logged decisions with {positives} known frauds between "
            f"{start.isoformat()} and {end.isoformat()}: training needs at least "
            f"{MIN_TRAINING_ROWS} rows and 5 frauds",
            {"rows": len(frame), "frauds": positives},
        )
    model = await asyncio.to_thread(train_model, frame, list(FEATURE_NAMES), config=config)
    tags = {"riskops.source": source, "riskops.window": f"{start.isoformat()}/{end.isoformat()}"}
    version = await asyncio.to_thread(registry.register, settings.model_name, model, tags)
    champion = await asyncio.to_thread(registry.alias_version, settings.model_name, Alias.CHAMPION)
    alias = Alias.CHALLENGER if champion is not None else Alias.CHAMPION
    previous = await asyncio.to_thread(registry.alias_version, settings.model_name, alias)
    await asyncio.to_thread(registry.set_alias, settings.model_name, alias, version.version)
    await audit_registry_change(
        engine,
        actor,
        AdminAction.MODEL_ALIAS_SET,
        settings.model_name,
        {"alias": alias.value, "version": previous},
        {"alias": alias.value, "version": version.version, "trained_on": tags["riskops.window"]},
    )
    return TrainingOutcome(version, alias, model.metrics, model.rows)


async def holdout_frame(engine: AsyncEngine, settings: Settings) -> tuple[pd.DataFrame, str]:
    """The rows both models are compared on: the newest labelled logged decisions, or
    (while the log has too few labels) fresh synthetic history. Says which."""
    end = datetime.now(UTC)
    frame = await build_dataset(engine, end - settings.retrain_window, end)
    if len(frame) >= MIN_TRAINING_ROWS:
        _, newest = time_split(frame, "occurred_at", 0.2)
        if newest["label"].nunique() == 2:
            return newest, f"the newest {len(newest)} labelled decisions"
    synthetic = featurise(synthetic_payments(5_000, seed=1_000_003))
    return synthetic, "5000 synthetic payments (too few labelled decisions in the log)"


def model_auc(model: LoadedModel, frame: pd.DataFrame) -> float:
    matrix = frame.reindex(columns=model.features).to_numpy(np.float64)
    scores = model.booster.predict(matrix)
    return classification_metrics(frame["label"].to_numpy(np.int64), scores)["auc"]


async def drift_of(
    engine: AsyncEngine, model: LoadedModel, start: datetime, end: datetime
) -> tuple[dict[str, float], int]:
    """PSI per feature and for the score (key SCORE) of the decisions in [start, end)."""
    async with engine.connect() as connection:
        logged = await repository.logged_features(connection, start, end)
    if not logged:
        return {}, 0
    matrix = np.array(
        [[row["features"].get(name, np.nan) for name in model.features] for row in logged],
        dtype=np.float64,
    )
    columns = {name: matrix[:, i] for i, name in enumerate(model.features)}
    columns[SCORE] = np.asarray(model.booster.predict(matrix), dtype=np.float64)
    return psi_report(model.references, columns), len(logged)


async def promotion_gates(
    engine: AsyncEngine, settings: Settings, registry: ModelRegistry, version: str
) -> tuple[GateResult, str]:
    name = settings.model_name
    challenger = await asyncio.to_thread(registry.load, name, version)
    champion_version = await asyncio.to_thread(registry.alias_version, name, Alias.CHAMPION)
    if champion_version == version:
        raise Conflict(
            f"version {version} of {name!r} is already the champion", {"version": version}
        )
    champion = (
        await asyncio.to_thread(registry.load, name, champion_version) if champion_version else None
    )
    holdout, described = await holdout_frame(engine, settings)
    end = datetime.now(UTC)
    psi, _ = await drift_of(engine, challenger, end - settings.drift_window, end)
    worst = max(psi, key=lambda k: psi[k]) if psi else None
    async with engine.connect() as connection:
        scored, errors = await repository.canary_counts(connection, name, version)
    inputs = GateInputs(
        challenger_auc=model_auc(challenger, holdout),
        champion_auc=model_auc(champion, holdout) if champion else None,
        max_psi=psi[worst] if worst else None,
        psi_feature=worst,
        canary_scored=scored,
        canary_errors=errors,
    )
    # A first champion has no traffic to canary against: only the other gates apply.
    return evaluate_gates(inputs, require_canary=champion is not None), described


async def promote(
    engine: AsyncEngine,
    settings: Settings,
    registry: ModelRegistry,
    version: str,
    *,
    force: bool = False,
    actor: Actor = SYSTEM,
) -> GateResult:
    """Make `version` the champion if every gate passes (or `force`); raise with the reasons.

    The promotion is audited (a forced one as such, with the gates it overrode) right after
    the registry moved the alias.
    """
    name = settings.model_name
    await asyncio.to_thread(_require_version, registry, name, version)
    result, described = await promotion_gates(engine, settings, registry, version)
    if not result.passed and not force:
        raise GateRefused(
            f"version {version} was not promoted: {result.explain()}",
            {"holdout": described, "checks": [asdict(c) for c in result.checks]},
        )
    previous = await asyncio.to_thread(registry.alias_version, name, Alias.CHAMPION)
    await asyncio.to_thread(registry.set_alias, name, Alias.CHAMPION, version)
    challenger = await asyncio.to_thread(registry.alias_version, name, Alias.CHALLENGER)
    if challenger == version:
        await asyncio.to_thread(registry.clear_alias, name, Alias.CHALLENGER)
    action = AdminAction.MODEL_PROMOTED if result.passed else AdminAction.MODEL_PROMOTED_FORCED
    after = {
        "champion": version,
        "force": force,
        "gates_passed": result.passed,
        "checks": describe_checks(result),
        "holdout": described,
    }
    before = {"champion": previous, "challenger": challenger}
    await audit_registry_change(engine, actor, action, name, before, after)
    return result


async def set_model_alias(
    engine: AsyncEngine,
    settings: Settings,
    registry: ModelRegistry,
    alias: Alias,
    version: str,
    *,
    actor: Actor = SYSTEM,
    name: str | None = None,
) -> str | None:
    """Point `alias` at `version` of model `name` (default the served one) and audit it;
    returns the version it pointed at before."""
    name = name or settings.model_name
    await asyncio.to_thread(_require_version, registry, name, version)
    previous = await asyncio.to_thread(registry.alias_version, name, alias)
    await asyncio.to_thread(registry.set_alias, name, alias, version)
    await audit_registry_change(
        engine,
        actor,
        AdminAction.MODEL_ALIAS_SET,
        name,
        {"alias": alias.value, "version": previous},
        {"alias": alias.value, "version": version},
    )
    return previous


async def clear_model_alias(
    engine: AsyncEngine,
    settings: Settings,
    registry: ModelRegistry,
    alias: Alias,
    *,
    actor: Actor = SYSTEM,
    name: str | None = None,
) -> str | None:
    """Remove `alias` of model `name`, default the served one (audited when it pointed
    somewhere); returns the version it named."""
    name = name or settings.model_name
    previous = await asyncio.to_thread(registry.alias_version, name, alias)
    if previous is None:
        return None
    await asyncio.to_thread(registry.clear_alias, name, alias)
    await audit_registry_change(
        engine,
        actor,
        AdminAction.MODEL_ALIAS_CLEARED,
        name,
        {"alias": alias.value, "version": previous},
        {"alias": alias.value, "version": None},
    )
    return previous


async def rollback(
    engine: AsyncEngine,
    settings: Settings,
    registry: ModelRegistry,
    *,
    actor: Actor = SYSTEM,
    name: str | None = None,
) -> tuple[str | None, str]:
    """Point the champion of model `name` (default the served one) back at the previous
    champion, audited: (from, to)."""
    name = name or settings.model_name
    try:
        current, previous = await asyncio.to_thread(registry.rollback, name)
    except LookupError as error:
        raise Conflict(str(error), {"model": name}) from None
    await audit_registry_change(
        engine,
        actor,
        AdminAction.MODEL_ROLLED_BACK,
        name,
        {"champion": current},
        {"champion": previous},
    )
    return current, previous


async def audit_registry_change(
    engine: AsyncEngine,
    actor: Actor,
    action: AdminAction,
    model: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    # The registry is not our database, so this cannot share its transaction: the row is
    # written as soon as the registry change succeeded (a change that failed is not recorded).
    async with transaction(engine) as connection:
        await audit.record(connection, actor, action, f"model:{model}", before, after)


def describe_checks(result: GateResult) -> list[dict[str, Any]]:
    """The gate checks as JSON-ready dicts."""
    return [_finite(asdict(check)) for check in result.checks]


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN (PostgreSQL refuses it): an undefined figure is recorded as null.
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }


def _require_version(registry: ModelRegistry, name: str, version: str) -> None:
    if not any(v.version == version for v in registry.versions(name)):
        raise NotFound(
            f"model {name!r} has no version {version!r}", {"model": name, "version": version}
        )


async def measure_drift(
    engine: AsyncEngine, settings: Settings, model: LoadedModel, *, hours: float | None = None
) -> dict[str, Any]:
    """One drift report for `model` over the last window (reads only; `store_drift` keeps it)."""
    end = datetime.now(UTC)
    start = end - (timedelta(hours=hours) if hours else settings.drift_window)
    psi, rows = await drift_of(engine, model, start, end)
    features = {k: v for k, v in psi.items() if k != SCORE}
    worst = max(features, key=lambda k: features[k]) if features else None
    return {
        "id": new_id(),
        "model_name": model.name,
        "model_version": model.version,
        "window_start": start,
        "window_end": end,
        "rows": rows,
        "score_psi": psi.get(SCORE),
        "max_psi": max(psi.values()) if psi else None,
        "max_psi_feature": worst,
        "features_psi": features,
        "created_at": end,
    }


async def store_drift(connection: AsyncConnection, report: dict[str, Any]) -> None:
    """Keep a drift report and export its PSI values as gauges."""
    await repository.insert_drift_report(connection, report)
    psi = dict(report["features_psi"])
    if report["score_psi"] is not None:
        psi[SCORE] = report["score_psi"]
    for variable, value in psi.items():
        MODEL_PSI.labels(report["model_name"], report["model_version"], variable).set(value)
