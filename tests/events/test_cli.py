"""The event commands, run as a user runs them (embedded default in a folder of its own)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskops.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RISKOPS_CARD_TOKEN_SECRET", "cli-test-card-token-secret-0123456789ab")
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    return tmp_path


def test_simulate_to_the_stream_then_status_tail_and_replay(env: Path) -> None:
    runner = CliRunner()
    simulated = runner.invoke(
        app, ["simulate", "--to", "stream", "--rate", "200", "--duration", "0.5",
              "--label-delay-scale", "0"],
    )  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    assert "sent 100 payments" in simulated.output

    status = runner.invoke(app, ["events", "status", "--json"])
    assert status.exit_code == 0, status.output
    found = json.loads(status.stdout)
    lags = {c["consumer"]: c["total_lag"] for c in found["consumers"]}
    assert lags == {"risk": 100, "labels": 100, "analytics": 0, "cases": 0}  # none consumed yet

    tail = runner.invoke(app, ["events", "tail", "transactions.inbound.v1", "--limit", "3"])
    assert tail.exit_code == 0, tail.output
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["value"]["type"] == "riskops.transaction.submitted.v1"
    assert lines[0]["key"] == lines[0]["value"]["data"]["account_id"]

    empty = runner.invoke(app, ["replay", "labels.v1.dlq"])
    assert empty.exit_code == 0 and "replayed 0 dead letters" in empty.output
    wrong = runner.invoke(app, ["replay", "labels.v1"])
    assert wrong.exit_code == 2 and "not a dead-letter topic" in wrong.output


def test_bad_arguments_get_clear_errors(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--to", "ftp"])
    assert result.exit_code == 2 and "--to must be http or stream" in result.output
    result = runner.invoke(app, ["simulate", "--to", "http"])
    assert result.exit_code == 2 and "--api-key" in result.output
    result = runner.invoke(app, ["consume", "nobody"])
    assert result.exit_code == 2 and "no consumer named 'nobody'" in result.output
