"""House rules of the console that a test can hold: services only, production secrets."""

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from riskops.settings import Settings

WEB = Path(__file__).resolve().parents[2] / "src" / "riskops" / "web"


def test_the_console_never_imports_a_repository() -> None:
    modules = list(WEB.rglob("*.py"))
    assert modules, f"no module under {WEB}: the rule below would check nothing"
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            assert not any("repository" in name for name in names), f"{path.name} imports {names}"


def production(**overrides: str) -> Settings:
    values = {
        "environment": "production",
        "database_url": "postgresql+asyncpg://riskops@db/riskops",
        "card_token_secret": "c" * 40,
        "session_secret": "s" * 40,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def test_production_needs_a_real_session_secret() -> None:
    assert production().session_key() == "s" * 40
    for weak in ("", "changeme", "short"):
        with pytest.raises(ValidationError, match="RISKOPS_SESSION_SECRET"):
            production(session_secret=weak)


def test_development_generates_a_stable_session_secret(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path).session_key()  # type: ignore[call-arg]
    again = Settings(_env_file=None, data_dir=tmp_path).session_key()  # type: ignore[call-arg]
    assert first == again
    assert len(first) >= 32
