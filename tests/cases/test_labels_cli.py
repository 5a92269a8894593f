"""`riskops labels import FILE.csv` as a user runs it: exit codes, bad rows by line, rerun."""

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.cli import app
from riskops.db.migrate import upgrade
from riskops.decisions.requests import TransactionCreate
from riskops.labels.service import labels_of
from riskops.runtime import build_runtime
from riskops.settings import Settings
from tests.payments import payment

GATEWAY = Principal(key_id="test", name="test gateway", role=Role.SERVICE)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RISKOPS_CARD_TOKEN_SECRET", "cli-test-card-token-secret-0123456789ab")
    monkeypatch.setenv("RISKOPS_MODEL_SERVING", "false")
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    return tmp_path


async def _paid() -> str:
    runtime = await build_runtime(Settings())
    try:
        await upgrade(runtime.engine)
        result = await runtime.pipeline.submit(
            TransactionCreate.model_validate(payment()), "cli-1", GATEWAY
        )
        return str(result.document["id"])
    finally:
        await runtime.close()


async def _labels(transaction_id: str) -> list[str]:
    runtime = await build_runtime(Settings())
    try:
        async with runtime.engine.connect() as connection:
            return [x["label"] for x in await labels_of(connection, transaction_id)]
    finally:
        await runtime.close()


def test_import_reports_bad_lines_writes_nothing_then_imports_once(env: Path) -> None:
    transaction_id = asyncio.run(_paid())
    bad = env / "bad.csv"
    bad.write_text(f"transaction_id,label\n{transaction_id},fraud\nnope,fraud\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["labels", "import", str(bad)])
    assert refused.exit_code == 1, refused.output
    assert "line 3" in refused.output and "nothing was imported" in refused.output
    assert asyncio.run(_labels(transaction_id)) == []

    good = env / "good.csv"
    good.write_text(f"transaction_id,label\n{transaction_id},fraud\n")
    first = runner.invoke(app, ["labels", "import", str(good)])
    assert first.exit_code == 0, first.output
    assert "1 label(s) stored" in first.output
    again = runner.invoke(app, ["labels", "import", str(good)])
    assert again.exit_code == 0 and "0 label(s) stored, 1 already stored" in again.output
    assert asyncio.run(_labels(transaction_id)) == ["fraud"]
