"""Model lifecycle: train, register, gate and promote, roll back, measure drift.

Registry calls are blocking (MLflow's client); callers on the event loop go through
`asyncio.to_thread`. Nothing here holds a database transaction open during training.
"""

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.errors import Conflict, NotFound, Unprocessable
from riskops.core.ids import new_id
from riskops.features import FEATURE_NAMES
from riskops.ml import repository
from riskops.ml.dataset import build_dataset
from riskops.ml.drift import SCORE, psi_report
from riskops.ml.gates import GateInputs, GateResult, evaluate_gates
from riskops.ml.metrics import classification_metrics
from riskops.ml.observability import MODEL_PSI
from riskops.ml.registry import (
    Alias,
    LoadedModel,
    MlflowRegistry,
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


def open_registry(settings: Settings) -> MlflowRegistry:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uri = settings.mlflow_tracking_uri or default_tracking_uri(settings.data_dir)
    return MlflowRegistry(uri, artifact_root=settings.data_dir / "mlartifacts")


def train_synthetic(
    payments: int, seed: int = 7, config: TrainingConfig | None = None
) -> TrainedModel:
    """A model on labelled synthetic history featurised by the production definitions."""
    frame = featurise(synthetic_payments(payments, seed=seed))
    return train_model(frame, list(FEATURE_NAMES), config=config or TrainingConfig(max_rounds=300))


def bootstrap_champion(settings: Settings, registry: MlflowRegistry) -> ModelVersion | None:
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
    registry: MlflowRegistry,
    start: datetime,
    end: datetime,
    config: TrainingConfig | None = None,
) -> TrainingOutcome:
    """Train on logged vectors of [start, end) with labels known at `end`; register the result
    as challenger (champion when there is none yet)."""
    frame = await build_dataset(engine, start, end)
    positives = int(frame["label"].sum()) if len(frame) else 0
    if len(frame) < MIN_TRAINING_ROWS or positives < 5 or positives == len(frame):
        raise NotEnoughData(
            f"{len(frame)} logged decisions with {positives} known frauds between "
            f"{start.isoformat()} and {end.isoformat()}: training needs at least "
            f"{MIN_TRAINING_ROWS} rows and 5 frauds",
            {"rows": len(frame), "frauds": positives},
        )
    model = await asyncio.to_thread(train_model, frame, list(FEATURE_NAMES), config=config)
    tags = {
        "riskops.source": "feature-log",
        "riskops.window": f"{start.isoformat()}/{end.isoformat()}",
    }
    version = await asyncio.to_thread(registry.register, settings.model_name, model, tags)
    champion = await asyncio.to_thread(registry.alias_version, settings.model_name, Alias.CHAMPION)
    alias = Alias.CHALLENGER if champion is not None else Alias.CHAMPION
    await asyncio.to_thread(registry.set_alias, settings.model_name, alias, version.version)
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
    engine: AsyncEngine, settings: Settings, registry: MlflowRegistry, version: str
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
    registry: MlflowRegistry,
    version: str,
    *,
    force: bool = False,
) -> GateResult:
    """Make `version` the champion if every gate passes (or `force`); raise with the reasons."""
    await asyncio.to_thread(_require_version, registry, settings.model_name, version)
    result, described = await promotion_gates(engine, settings, registry, version)
    if not result.passed and not force:
        raise GateRefused(
            f"version {version} was not promoted: {result.explain()}",
            {"holdout": described, "checks": [asdict(c) for c in result.checks]},
        )
    await asyncio.to_thread(registry.set_alias, settings.model_name, Alias.CHAMPION, version)
    challenger = await asyncio.to_thread(
        registry.alias_version, settings.model_name, Alias.CHALLENGER
    )
    if challenger == version:
        await asyncio.to_thread(registry.clear_alias, settings.model_name, Alias.CHALLENGER)
    return result


def _require_version(registry: MlflowRegistry, name: str, version: str) -> None:
    if not any(v.version == version for v in registry.versions(name)):
        raise NotFound(
            f"model {name!r} has no version {version!r}", {"model": name, "version": version}
        )


async def record_drift(
    engine: AsyncEngine, settings: Settings, model: LoadedModel, *, hours: float | None = None
) -> dict[str, Any]:
    """Compute and store one drift report for `model` over the last window."""
    end = datetime.now(UTC)
    start = end - (timedelta(hours=hours) if hours else settings.drift_window)
    psi, rows = await drift_of(engine, model, start, end)
    features = {k: v for k, v in psi.items() if k != SCORE}
    worst = max(features, key=lambda k: features[k]) if features else None
    report = {
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
    async with engine.begin() as connection:
        await repository.insert_drift_report(connection, report)
    for variable, value in psi.items():
        MODEL_PSI.labels(model.name, model.version, variable).set(value)
    return report
