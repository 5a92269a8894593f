"""`riskops lists ...` against a real (SQLite) database in a fresh data folder."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskops.cli import app
from tests.payments import CARD

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RISKOPS_DATABASE_URL", raising=False)
    return tmp_path


def riskops(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_create_add_list_remove(data_dir: Path) -> None:
    created = riskops("lists", "create", "mules", "--kind", "account", "--purpose", "watch")
    added = riskops("lists", "add", "blocked_cards", CARD, "--reason", "stolen")
    listed = riskops("lists", "list")
    entries = riskops("lists", "entries", "blocked_cards")
    removed = riskops("lists", "remove", "blocked_cards", CARD)
    after = riskops("lists", "entries", "blocked_cards")

    assert created[0] == 0 and "created list mules" in created[1]
    assert added[0] == 0 and "1 added" in added[1]
    assert "mules" in listed[1] and "blocked_cards" in listed[1]
    assert entries[0] == 0 and "stolen" in entries[1] and CARD not in entries[1]
    assert removed[0] == 0
    assert after[1].strip() == ""


def test_refusals_exit_1_and_change_nothing(data_dir: Path) -> None:
    bad_ip = riskops("lists", "add", "blocked_ips", "10.0.0.0/8", "999.1.1.1", "--reason", "r")
    unknown = riskops("lists", "add", "nope", "x", "--reason", "r")
    bad_kind = riskops("lists", "create", "x", "--kind", "phone", "--purpose", "block")
    entries = riskops("lists", "entries", "blocked_ips")

    assert bad_ip[0] == 1 and "value #1" in bad_ip[1]
    assert unknown[0] == 1 and "no list named 'nope'" in unknown[1]
    assert bad_kind[0] == 2
    assert entries[1].strip() == ""
