"""Migrations are the only schema source: they go up and down, and match the models."""

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from riskops.db.engine import create_engine
from riskops.db.metadata import metadata
from riskops.db.migrate import downgrade, upgrade
from tests.conftest import fresh_postgres_database


def _for_dialect(dialect: str) -> Callable[..., bool]:
    """Skip an index the models declare for another engine only (`Index.ddl_if`)."""

    def include(obj: object, name: str, kind: str, reflected: bool, other: object) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


async def _round_trip(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(
                        c, opts={"include_object": _for_dialect(c.dialect.name)}
                    ),
                    metadata,
                )
            )
        assert {t.name for t in metadata.sorted_tables} <= tables
        assert diff == [], f"models and migrations disagree: {diff}"
        await downgrade(engine)
        async with engine.connect() as connection:
            left = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        await upgrade(engine)  # and back up again: downgrades leave nothing behind
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_downgrade(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
async def test_postgres_upgrade_downgrade() -> None:
    async with fresh_postgres_database() as url:
        await _round_trip(url)
