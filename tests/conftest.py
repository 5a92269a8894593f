"""Shared fixtures: a real app on SQLite or PostgreSQL, reached through the ASGI transport."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.app import create_app
from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.db.engine import create_engine
from riskops.runtime import Runtime
from riskops.settings import Settings
from tests.engines import POSTGRES_URL, require_engine

os.environ.setdefault("RISKOPS_ENVIRONMENT", "development")


@dataclass
class Api:
    """A running app with a client and one key per role."""

    client: httpx.AsyncClient
    runtime: Runtime
    keys: dict[Role, str]

    def as_role(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new PostgreSQL database of its own, dropped afterwards."""
    require_engine("PostgreSQL", POSTGRES_URL, 5432)
    name = f"riskops_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def make_settings(data_dir: Path, database_url: str | None = None, **overrides: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        card_token_secret="test-card-token-secret-0123456789abcdef",  # type: ignore[arg-type]
        bootstrap_admin_key=False,
        _env_file=None,  # type: ignore[call-arg]
        # Model serving imports MLflow and may train at start: only tests/ml turn it on.
        **{"model_serving": False, **overrides},  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each API test runs on the embedded default and, marked, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Api]:
    # `@pytest.mark.settings(name=value)` on a test or module overrides settings of its app.
    marker = request.node.get_closest_marker("settings")
    settings = make_settings(tmp_path, database_url, **(marker.kwargs if marker else {}))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield Api(client, runtime, keys)


async def create_keys(engine: AsyncEngine) -> dict[Role, str]:
    keys = {}
    async with engine.begin() as connection:
        for role in Role:
            created = await key_service.create_key(connection, role, f"test {role}")
            keys[role] = created.plaintext
    return keys


@dataclass
class TwoProcesses:
    """Two app instances sharing one database, as two API processes would."""

    clients: list[httpx.AsyncClient]
    runtimes: list[Runtime]
    keys: dict[Role, str]


@contextlib.asynccontextmanager
async def two_processes(
    tmp_path: Path, database_url: str | None = None, **overrides: object
) -> AsyncIterator[TwoProcesses]:
    """Two apps on one fresh PostgreSQL database, or on `database_url` when given."""
    async with contextlib.AsyncExitStack() as stack:
        url = database_url or await stack.enter_async_context(fresh_postgres_database())
        apps = [create_app(make_settings(tmp_path / f"p{i}", url, **overrides)) for i in range(2)]
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            runtimes: list[Runtime] = [app.state.runtime for app in apps]
            keys = await create_keys(runtimes[0].engine)
            async with (
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=apps[0]), base_url="http://t"
                ) as first,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=apps[1]), base_url="http://t"
                ) as second,
            ):
                yield TwoProcesses([first, second], runtimes, keys)
