"""The model registry port (`ModelRegistry`) and its MLflow adapter (an SQLite store by default).

Every training run is logged (params, metrics, feature list, drift references, the LightGBM
model as text) and registered as a new version of a registered model. Serving follows the
aliases `champion`, `challenger` and `shadow` (registry stages are deprecated). Promotion
history is kept as a tag on the registered model, so a rollback is one alias move.

mlflow is imported lazily: it costs seconds, and the API must answer /health before it.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from riskops.ml.drift import Reference
from riskops.ml.feature_schema import FeatureSchema

# lightgbm (and sklearn behind it) take seconds to import: only code that trains or loads
# a booster pays for them, not every CLI command or process that imports the registry.
if TYPE_CHECKING:
    import lightgbm as lgb
    from mlflow import MlflowClient

    from riskops.ml.training import TrainedModel

EXPERIMENT: Final = "riskops"
HISTORY_TAG: Final = "riskops.champion_history"
MODEL_DIR: Final = "model"
SCHEMA_FILE: Final = "schema.json"
HOLDOUT_FILE: Final = "holdout.parquet"  # models trained on a table: what promotion gates use


class Alias(StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"
    SHADOW = "shadow"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    features: list[str]
    created_at_ms: int


@dataclass
class LoadedModel:
    """A registered version ready to score: its booster, feature order and drift references."""

    name: str
    version: str
    booster: "lgb.Booster"
    features: list[str]
    references: dict[str, Reference] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    typical: dict[str, float] = field(default_factory=dict)  # training medians; {} if older
    schema: FeatureSchema | None = None  # typed inputs; None: every feature a number (older)
    artifacts: Path | None = None  # the downloaded files (a table model's holdout is there)


def quiet_mlflow() -> None:
    """No telemetry from our process: set before mlflow is first imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")


class ModelRegistry(Protocol):
    """The model registry port: versions, aliases, promotion history and artifacts.

    Calls block (a registry is a remote store): callers on the event loop go through
    `asyncio.to_thread`.
    """

    def open(self) -> None:
        """Connect (and pay any import cost) now rather than on the first call."""

    def register(
        self, name: str, model: "TrainedModel", tags: dict[str, str] | None = None
    ) -> ModelVersion: ...

    def model_names(self) -> list[str]: ...

    def version(self, name: str, version: str) -> ModelVersion: ...

    def versions(self, name: str) -> list[ModelVersion]: ...

    def alias_version(self, name: str, alias: Alias) -> str | None: ...

    def set_alias(self, name: str, alias: Alias, version: str) -> None: ...

    def clear_alias(self, name: str, alias: Alias) -> None: ...

    def champion_history(self, name: str) -> list[str]: ...

    def rollback(self, name: str) -> tuple[str | None, str]: ...

    def load(self, name: str, version: str) -> LoadedModel: ...


class MlflowRegistry:
    """The MLflow adapter; its client is created on first use (importing mlflow costs seconds)."""

    def __init__(self, tracking_uri: str, artifact_root: Path | None = None) -> None:
        quiet_mlflow()  # before any method imports mlflow
        self.tracking_uri = tracking_uri
        self._artifact_root = artifact_root

    @cached_property
    def client(self) -> "MlflowClient":
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def open(self) -> None:
        self.client  # noqa: B018 - creating the client is the point

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(EXPERIMENT)
        if found is not None:
            return str(found.experiment_id)
        location = self._artifact_root.resolve().as_uri() if self._artifact_root else None
        return str(self.client.create_experiment(EXPERIMENT, artifact_location=location))

    def register(
        self, name: str, model: "TrainedModel", tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Log the run (params, metrics, features, references, model) and register a version."""
        run = self.client.create_run(
            self._experiment_id(), tags={"riskops.model": name, **(tags or {})}
        )
        run_id = run.info.run_id
        for key, value in model.params.items():
            self.client.log_param(run_id, key, value)
        self.client.log_param(run_id, "features", json.dumps(model.features))
        for key, value in {
            **model.metrics,
            **{f"rows_{k}": v for k, v in model.rows.items()},
        }.items():
            self.client.log_metric(run_id, key, float(value))
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            model.booster.save_model(str(root / "model.txt"))
            (root / "features.json").write_text(json.dumps(model.features))
            (root / "references.json").write_text(
                json.dumps({k: r.to_json() for k, r in model.references.items()})
            )
            (root / "metrics.json").write_text(json.dumps(model.metrics))
            (root / "typical.json").write_text(json.dumps(model.typical))
            if model.schema is not None:
                (root / SCHEMA_FILE).write_text(json.dumps(model.schema.to_json()))
            if model.holdout is not None:
                model.holdout.to_parquet(root / HOLDOUT_FILE)
            self.client.log_artifacts(run_id, folder, MODEL_DIR)
        self.client.set_terminated(run_id)
        if not self._exists(name):
            self.client.create_registered_model(name)
        created = self.client.create_model_version(
            name, source=f"{run.info.artifact_uri}/{MODEL_DIR}", run_id=run_id
        )
        return self.version(name, str(created.version))

    def _exists(self, name: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            return False
        return True

    def model_names(self) -> list[str]:
        return sorted(m.name for m in self.client.search_registered_models())

    def version(self, name: str, version: str) -> ModelVersion:
        found = self.client.get_model_version(name, version)
        run = self.client.get_run(str(found.run_id))
        features: list[str] = []
        feature_param = run.data.params.get("features")
        if feature_param:
            features = json.loads(feature_param)
        return ModelVersion(
            name=name,
            version=str(found.version),
            run_id=str(found.run_id),
            aliases=tuple(found.aliases),
            metrics=dict(run.data.metrics),
            features=features,
            created_at_ms=int(found.creation_timestamp),
        )

    def versions(self, name: str) -> list[ModelVersion]:
        if not self._exists(name):
            return []
        found = self.client.search_model_versions(f"name='{name}'")
        listed = [self.version(name, str(v.version)) for v in found]
        return sorted(listed, key=lambda v: int(v.version))

    def alias_version(self, name: str, alias: Alias) -> str | None:
        """The version an alias points at, or None (cheap: called by hot reload every few s)."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(name, alias.value).version)
        except MlflowException:
            return None

    def set_alias(self, name: str, alias: Alias, version: str) -> None:
        self.client.get_model_version(name, version)  # raises if the version does not exist
        if alias is Alias.CHAMPION:
            current = self.alias_version(name, Alias.CHAMPION)
            if current is not None and current != version:
                history = [*self.champion_history(name), current]
                self.client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[-50:]))
        self.client.set_registered_model_alias(name, alias.value, version)

    def clear_alias(self, name: str, alias: Alias) -> None:
        if self.alias_version(name, alias) is not None:
            self.client.delete_registered_model_alias(name, alias.value)

    def champion_history(self, name: str) -> list[str]:
        tags = self.client.get_registered_model(name).tags
        value = tags.get(HISTORY_TAG, "")
        return [v for v in value.split(",") if v]

    def rollback(self, name: str) -> tuple[str | None, str]:
        """Point champion back at the previous champion: (from, to). Raises if there is none."""
        history = self.champion_history(name)
        if not history:
            raise LookupError(f"model {name!r} has no previous champion to roll back to")
        previous = history.pop()
        current = self.alias_version(name, Alias.CHAMPION)
        self.client.set_registered_model_alias(name, Alias.CHAMPION.value, previous)
        self.client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history))
        return current, previous

    def load(self, name: str, version: str) -> LoadedModel:
        from mlflow.artifacts import download_artifacts

        found = self.client.get_model_version(name, version)
        folder = Path(
            download_artifacts(artifact_uri=str(found.source), tracking_uri=self.tracking_uri)
        )
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(folder / "model.txt"))
        references = {
            key: Reference.from_json(value)
            for key, value in json.loads((folder / "references.json").read_text()).items()
        }
        typical = folder / "typical.json"  # versions registered before it have none
        schema = folder / SCHEMA_FILE  # only models trained on a table (`train --data`)
        return LoadedModel(
            name=name,
            version=str(found.version),
            booster=booster,
            features=json.loads((folder / "features.json").read_text()),
            references=references,
            metrics=json.loads((folder / "metrics.json").read_text()),
            typical=json.loads(typical.read_text()) if typical.exists() else {},
            schema=FeatureSchema.from_json(json.loads(schema.read_text()))
            if schema.exists()
            else None,
            artifacts=folder,
        )


def default_tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'mlflow.db').resolve()}"


def describe(version: ModelVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "aliases": list(version.aliases),
        "metrics": version.metrics,
        "run_id": version.run_id,
        "created_at_ms": version.created_at_ms,
    }
