"""Buses for the event tests: the embedded log on SQLite and PostgreSQL, and a real broker."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.events.bus import EventBus
from riskops.events.embedded import EmbeddedLog
from riskops.events.kafka import KafkaBus
from riskops.runtime import Runtime, build_runtime
from riskops.settings import Settings
from tests.conftest import fresh_postgres_database, make_settings
from tests.kafka import Broker, require_tansu, running_broker


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Broker]:
    """One broker per test session; tests keep apart by unique topic and group names."""
    with running_broker() as broker:
        yield broker


def kafka_bus(bootstrap: str) -> KafkaBus:
    # Short sessions: the default makes every group join take ~20 s against this broker.
    return KafkaBus(bootstrap, partitions=3, session_timeout_ms=6000)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated database of its own: SQLite, and (marked) PostgreSQL."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
        await upgrade(engine)
        yield engine
        await engine.dispose()
        return
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        await upgrade(engine)
        yield engine
        await engine.dispose()


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.postgres),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ]
)
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventBus]:
    """Every adapter of the EventBus port, for the one contract suite."""
    if request.param == "kafka":
        broker: Broker = request.getfixturevalue("kafka_broker")
        kafka = kafka_bus(broker.bootstrap)
        yield kafka
        await kafka.close()
        return
    if request.param == "embedded-sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
        await upgrade(engine)
        yield EmbeddedLog(engine)
        await engine.dispose()
        return
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        await upgrade(engine)
        yield EmbeddedLog(engine)
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


def event_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Fast retries and polling, so failure paths finish in test time."""
    values: dict[str, object] = {
        "run_workers": False,
        "consumer_max_attempts": 3,
        "consumer_retry_base": timedelta(seconds=0.01),
        "consumer_retry_max": timedelta(seconds=0.05),
        "relay_poll": timedelta(seconds=0.2),
        **overrides,
    }
    return make_settings(tmp_path, database_url, **values)


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    """The real runtime (pipeline, writer, embedded bus, workers built but not started)."""
    built = await build_runtime(event_settings(tmp_path, database_url))
    await upgrade(built.engine)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.postgres),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ]
)
async def flow_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    """The real runtime on each bus; Kafka gets a broker of its own (fixed topic names)."""
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}"
    if request.param == "embedded-postgres":
        async with fresh_postgres_database() as url:
            built = await build_runtime(event_settings(tmp_path, url))
            await upgrade(built.engine)
            try:
                yield built
            finally:
                await built.close()
        return
    broker = None
    overrides: dict[str, object] = {}
    if request.param == "kafka":
        broker = Broker(require_tansu())
        broker.start()
        overrides = {
            "bus": "kafka",
            "kafka_bootstrap": broker.bootstrap,
            "kafka_partitions": 3,
            "kafka_session_timeout": timedelta(seconds=6),
        }
    built = await build_runtime(event_settings(tmp_path, sqlite, **overrides))
    await upgrade(built.engine)
    try:
        yield built
    finally:
        await built.close()
        if broker is not None:
            broker.stop()
