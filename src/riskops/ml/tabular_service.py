"""Lifecycle of a model trained on a table: train, gate against the champion, register, alias.

The gates are the fraud model's (riskops.ml.gates): the challenger's AUC against the
champion's on the SAME holdout rows (the newest of this table, each version scoring them with
its own schema), PSI where there is a window to compare, and no canary requirement (a model
served by `POST /v1/predict` takes no share of payment traffic). The first version of a name
becomes its champion at once; later ones become challenger with their gate result, and a
person promotes them.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.audit.service import SYSTEM, Actor, AdminAction
from riskops.core.errors import Conflict, NotFound
from riskops.ml import service
from riskops.ml.feature_schema import encode_frame
from riskops.ml.gates import GateInputs, GateResult, evaluate_gates
from riskops.ml.metrics import classification_metrics
from riskops.ml.registry import HOLDOUT_FILE, Alias, LoadedModel, ModelRegistry, ModelVersion
from riskops.ml.tabular import LABEL, prepare, read_sidecar, read_table, train_table
from riskops.ml.training import TrainingConfig


@dataclass(frozen=True)
class TableTrainingOutcome:
    version: ModelVersion
    alias: Alias
    metrics: dict[str, float]
    rows: dict[str, int]
    gates: GateResult
    ignored: dict[str, str] = field(default_factory=dict)
    dropped_rows: int = 0


@dataclass(frozen=True)
class TableSpec:
    """What `riskops train --data` was asked: the file, its target, its time, the model name."""

    path: Path
    target: str
    name: str
    time_column: str | None = None
    positive: str | None = None
    descriptions: Path | None = None


def auc_on(model: LoadedModel, holdout: pd.DataFrame) -> float:
    """The version's AUC on holdout rows as read (each version encodes them by its schema; a
    column it does not know is missing to it)."""
    if model.schema is not None:
        matrix = encode_frame(model.schema, holdout.reindex(columns=model.schema.names))
    else:
        matrix = holdout.reindex(columns=model.features).to_numpy(np.float64)
    scores = model.booster.predict(matrix)
    return classification_metrics(holdout[LABEL].to_numpy(np.int64), scores)["auc"]


async def promote_table_model(
    engine: AsyncEngine,
    registry: ModelRegistry,
    name: str,
    version: str,
    *,
    force: bool = False,
    actor: Actor = SYSTEM,
) -> GateResult:
    """Make `version` of a table model champion if it passes the gates on its own holdout
    (the champion scored on the same rows), or `force`; audited like the fraud model's."""
    challenger = await asyncio.to_thread(registry.load, name, version)
    current = await asyncio.to_thread(registry.alias_version, name, Alias.CHAMPION)
    if current == version:
        raise Conflict(
            f"version {version} of {name!r} is already the champion", {"version": version}
        )
    holdout_file = challenger.artifacts / HOLDOUT_FILE if challenger.artifacts else None
    if holdout_file is None or not holdout_file.exists():
        raise NotFound(
            f"{name} v{version} has no stored holdout (not trained with --data)", {"model": name}
        )
    holdout = await asyncio.to_thread(pd.read_parquet, holdout_file)
    champion_auc = None
    if current is not None:
        champion = await asyncio.to_thread(registry.load, name, current)
        champion_auc = auc_on(champion, holdout)
    inputs = GateInputs(auc_on(challenger, holdout), champion_auc, None, None, 0, 0)
    result = evaluate_gates(inputs, require_canary=False)
    if not result.passed and not force:
        raise service.GateRefused(
            f"version {version} was not promoted: {result.explain()}",
            {
                "holdout": f"{len(holdout)} newest rows of its table",
                "checks": service.describe_checks(result),
            },
        )
    await asyncio.to_thread(registry.set_alias, name, Alias.CHAMPION, version)
    challenger_alias = await asyncio.to_thread(registry.alias_version, name, Alias.CHALLENGER)
    if challenger_alias == version:
        await asyncio.to_thread(registry.clear_alias, name, Alias.CHALLENGER)
    action = AdminAction.MODEL_PROMOTED if result.passed else AdminAction.MODEL_PROMOTED_FORCED
    await service.audit_registry_change(
        engine,
        actor,
        action,
        name,
        {"champion": current, "challenger": challenger_alias},
        {
            "champion": version,
            "force": force,
            "gates_passed": result.passed,
            "checks": service.describe_checks(result),
        },
    )
    return result


def _quiet(_: str) -> None:
    return None


async def train_from_table(
    engine: AsyncEngine,
    registry: ModelRegistry,
    spec: TableSpec,
    *,
    config: TrainingConfig | None = None,
    actor: Actor = SYSTEM,
    step: Callable[[str], None] = _quiet,
) -> TableTrainingOutcome:
    """Read, check, train, gate, register; `step` hears each phase as it finishes."""
    config = config or TrainingConfig()
    frame = await asyncio.to_thread(read_table, spec.path)
    step(f"read {len(frame):,} rows x {len(frame.columns)} columns from {spec.path.name}")
    notes = read_sidecar(spec.descriptions)
    prepared = await asyncio.to_thread(
        prepare,
        frame,
        spec.target,
        time_column=spec.time_column,
        positive=spec.positive,
        sidecar=notes,
    )
    kinds = ", ".join(f"{f.name}:{f.type.value}" for f in prepared.schema.fields)
    step(f"schema of {len(prepared.schema.fields)} features ({kinds})")
    model = await asyncio.to_thread(train_table, prepared, config)
    step(
        f"trained {model.params.get('num_boost_round')} trees on {model.rows['train']:,} rows; "
        f"holdout AUC {model.metrics['auc']:.4f}"
    )
    champion_version = await asyncio.to_thread(registry.alias_version, spec.name, Alias.CHAMPION)
    champion_auc = None
    if champion_version is not None and model.holdout is not None:
        champion = await asyncio.to_thread(registry.load, spec.name, champion_version)
        champion_auc = auc_on(champion, model.holdout)
    gates = evaluate_gates(
        GateInputs(model.metrics["auc"], champion_auc, None, None, 0, 0), require_canary=False
    )
    tags = {
        "riskops.source": f"table:{spec.path.name}",
        "riskops.target": spec.target,
        "riskops.gates": gates.explain()[:4000],
    }
    version = await asyncio.to_thread(registry.register, spec.name, model, tags)
    alias = Alias.CHALLENGER if champion_version is not None else Alias.CHAMPION
    previous = await asyncio.to_thread(registry.alias_version, spec.name, alias)
    await asyncio.to_thread(registry.set_alias, spec.name, alias, version.version)
    await service.audit_registry_change(
        engine,
        actor,
        AdminAction.MODEL_ALIAS_SET,
        spec.name,
        {"alias": alias.value, "version": previous},
        {"alias": alias.value, "version": version.version, "trained_on": spec.path.name},
    )
    step(f"registered {spec.name} v{version.version} as {alias.value}")
    return TableTrainingOutcome(
        version, alias, model.metrics, model.rows, gates, prepared.ignored, prepared.dropped_rows
    )
