"""Models tests: a small model trained once per session on generated data, temp registries."""

import os
from pathlib import Path

import pytest

from riskops.ml.registry import MlflowRegistry, ModelRegistry, default_tracking_uri
from riskops.ml.service import train_synthetic
from riskops.ml.training import TrainedModel, TrainingConfig

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"

SMALL = TrainingConfig(max_rounds=40, n_jobs=1, early_stopping_rounds=10)


@pytest.fixture(scope="session")
def small_model() -> TrainedModel:
    return train_synthetic(3_000, seed=11, config=SMALL)


@pytest.fixture(scope="session")
def other_model() -> TrainedModel:
    return train_synthetic(3_000, seed=12, config=SMALL)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return MlflowRegistry(default_tracking_uri(tmp_path), artifact_root=tmp_path / "artifacts")
