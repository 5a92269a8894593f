"""`riskops keys create` writes through the bare driver: its rows must be the service's rows."""

import asyncio
from pathlib import Path

import pytest

from riskops.audit.actions import Actor
from riskops.auth import direct
from riskops.auth.roles import Role
from riskops.settings import Settings
from tests.conftest import Api


async def test_a_directly_written_key_works_and_its_creation_is_audited(api: Api) -> None:
    url = api.runtime.settings.resolved_database_url
    actor = Actor("cli:tester", "riskops CLI")
    key = await asyncio.to_thread(direct.create_key, url, Role.ADMIN, "ops lead", actor)
    assert key is not None and key.startswith("rk_")

    answer = await api.client.get(
        "/v1/admin/audit",
        params={"action": "api_key.created", "actor": "cli:tester"},
        headers={"Authorization": f"Bearer {key}"},  # the new key itself authenticates
    )
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["items"]
    assert entry["actor_name"] == "riskops CLI"
    assert entry["before"] is None
    assert entry["after"]["role"] == "admin" and entry["after"]["name"] == "ops lead"
    assert key.startswith(f"rk_{entry['after']['prefix']}_")


def test_a_database_without_the_schema_is_left_to_the_migrating_path(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty' / 'riskops.db'}"
    assert direct.create_key(url, Role.VIEWER, "x", Actor("cli:t", "t")) is None


@pytest.mark.parametrize(
    ("environment", "env_file"),
    [
        ({}, None),
        ({"RISKOPS_DATA_DIR": "elsewhere"}, None),
        ({}, "RISKOPS_DATABASE_URL=postgresql+asyncpg://u@db/from_file\n"),
        ({"riskops_database_url": "postgresql+asyncpg://u@db/env"}, "RISKOPS_DATA_DIR=f\n"),
        ({"RISKOPS_DATABASE_URL": ""}, "riskops_data_dir=from_file\n"),
    ],
)
def test_the_database_is_found_where_settings_find_it(
    environment: dict[str, str],
    env_file: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("RISKOPS_DATA_DIR", "RISKOPS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file)
    assert direct.database_url() == Settings().resolved_database_url
