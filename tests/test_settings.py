"""Settings: production refuses placeholders; development makes its own secret once."""

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from riskops.settings import Settings

POSTGRES = "postgresql+asyncpg://riskops@db/riskops"
STRONG = "k" * 48


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "database_url": POSTGRES,
        "card_token_secret": STRONG,
        "session_secret": STRONG[::-1] + "s",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"card_token_secret": ""}, "CARD_TOKEN_SECRET"),
        ({"card_token_secret": "changeme"}, "CARD_TOKEN_SECRET"),
        ({"card_token_secret": "short-but-not-a-placeholder"}, "at least 32"),
        ({"session_secret": ""}, "SESSION_SECRET"),
        ({"database_url": None}, "PostgreSQL"),
        ({"database_url": "sqlite+aiosqlite:///x.db"}, "PostgreSQL"),
        ({"review_threshold": 0.9, "decline_threshold": 0.5}, "review_threshold"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        production(**overrides)


def test_production_accepts_real_secrets() -> None:
    settings = production()
    assert settings.token_secret() == STRONG.encode()
    assert not settings.is_sqlite


def test_environment_variables_use_the_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RISKOPS_FEATURE_STORE", "redis")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.data_dir == tmp_path and settings.feature_store == "redis"
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}"


def test_development_generates_a_private_stable_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    first = settings.token_secret()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path, _env_file=None).token_secret() == first  # type: ignore[call-arg]
    mode = (tmp_path / "secrets.env").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_durations_read_iso_8601_or_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_LABEL_DELAY", "P3D")
    monkeypatch.setenv("RISKOPS_RELAY_POLL", "0.5")
    monkeypatch.setenv("RISKOPS_DRIFT_WINDOW", "PT6H")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.label_delay == timedelta(days=3)
    assert settings.relay_poll == timedelta(seconds=0.5)
    assert settings.drift_window == timedelta(hours=6)
    with pytest.raises(ValidationError, match="label_delay"):
        Settings(label_delay="PT0S", _env_file=None)  # type: ignore[call-arg]


def test_the_example_env_file_is_what_the_settings_read() -> None:
    example = Path(__file__).resolve().parents[1] / ".env.example"
    names = {
        line.split("=", 1)[0].removeprefix("RISKOPS_").lower()
        for line in example.read_text().splitlines()
        if line.startswith("RISKOPS_")
    }
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)
    assert Settings(_env_file=example)  # type: ignore[call-arg]
