"""Model files go where every process can read them: the server's store behind a tracking
server (the API replicas and the worker run on different hosts), the data folder otherwise."""

from pathlib import Path

import pytest

from riskops.ml.service import artifact_root
from tests.conftest import make_settings


@pytest.mark.parametrize("uri", ["http://mlflow:5000", "https://mlflow.example.internal"])
def test_a_tracking_server_keeps_the_artifacts(tmp_path: Path, uri: str) -> None:
    assert artifact_root(make_settings(tmp_path, mlflow_tracking_uri=uri)) is None


@pytest.mark.parametrize("uri", [None, "sqlite:////var/lib/riskops/mlflow.db"])
def test_a_local_store_keeps_them_in_the_data_folder(tmp_path: Path, uri: str | None) -> None:
    settings = make_settings(tmp_path, mlflow_tracking_uri=uri)
    assert artifact_root(settings) == tmp_path / "mlartifacts"
