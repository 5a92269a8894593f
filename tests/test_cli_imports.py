"""The CLI answers at once: help of any command and `keys create` import none of the product's
heavy parts (the app, the web framework, the model libraries, the ORM models of the domains)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from riskops.cli import app

HEAVY = ("fastapi", "mlflow", "lightgbm", "pandas", "sklearn", "uvicorn", "alembic", "httpx")
HEAVY_OURS = (
    "riskops.app", "riskops.runtime", "riskops.web", "riskops.decisions", "riskops.ledger",
    "riskops.features", "riskops.ml.service", "riskops.ml.registry", "riskops.ml.training",
    "riskops.events.workers", "riskops.db.migrate",
)  # fmt: skip
# Run the CLI in a fresh interpreter, then report every module that got imported.
PROBE = """
import json, sys
from riskops.cli import app
for args in json.loads(sys.argv[1]):
    try:
        app(args, prog_name="riskops")
    except SystemExit as exit:
        if exit.code not in (0, None):
            raise
print(json.dumps(sorted(sys.modules)))
"""


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    paths = [[*prefix, "--help"]]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, (*prefix, name))
    return paths


def _imported(args: list[list[str]], cwd: Path) -> set[str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = os.environ | {"PYTHONPATH": src, "RISKOPS_DATA_DIR": str(cwd / "data")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY_OURS))


def test_every_help_imports_nothing_heavy(tmp_path: Path) -> None:
    paths = _command_paths(typer.main.get_command(app))
    assert ["keys", "create", "--help"] in paths and ["models", "promote", "--help"] in paths
    modules = _imported(paths, tmp_path)
    assert "riskops.cli" in modules
    assert _heavy(modules) == []
    assert "sqlalchemy" not in modules and "riskops.settings" not in modules
    # Plain help: rich's console, markdown and syntax highlighting stay unimported.
    assert not {"rich.console", "rich.markdown", "typer.rich_utils"} & modules


def test_keys_create_on_a_migrated_database_skips_the_whole_stack(tmp_path: Path) -> None:
    first = [["keys", "create", "--role", "admin", "--name", "first"]]
    assert "alembic" in _imported(first, tmp_path)  # a new database is migrated first
    again = _imported([["keys", "create", "--role", "analyst", "--name", "again"]], tmp_path)
    assert "riskops.auth.direct" in again
    assert _heavy(again) == []
    # The bare driver writes the key: no ORM, no settings class, no rich console.
    assert not {"sqlalchemy", "riskops.settings", "rich.console"} & again


def test_the_consume_help_names_every_consumer() -> None:
    from riskops.runtime import CONSUMER_TOPICS

    consume = typer.main.get_command(app).commands["consume"]  # type: ignore[attr-defined]
    help_text = " ".join(str(getattr(p, "help", "") or "") for p in consume.params)
    assert all(name in help_text for name in CONSUMER_TOPICS), help_text


def test_keys_create_speaks_plain_english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    analyst = runner.invoke(app, ["keys", "create", "--role", "analyst", "--name", "ana"])
    assert analyst.exit_code == 0, analyst.output
    assert "created an analyst key named 'ana' (shown once):" in analyst.output
    viewer = runner.invoke(app, ["keys", "create", "--role", "viewer"])
    assert "created a viewer key named 'cli'" in viewer.output
    assert viewer.output.strip().splitlines()[-1].startswith("rk_")
