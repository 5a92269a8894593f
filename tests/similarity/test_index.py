"""The VectorIndex contract on the embedded exact index (SQLite) and on pgvector (PostgreSQL),
plus what only the embedded index has: its file in the data folder."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.similarity.exact import ExactIndex
from riskops.similarity.index import VectorIndex
from riskops.similarity.models import TABLE_DIM
from riskops.similarity.pgvector import PgVectorIndex
from tests.conftest import fresh_postgres_database
from tests.similarity.contract import (
    EMBEDDING,
    VectorIndexContract,
    exact_top,
    store,
    unit_vectors,
)


async def _migrated(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


class TestExactIndex(VectorIndexContract):
    exact = True

    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
        async for engine in _migrated(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"):
            yield engine

    @pytest.fixture
    def make_index(self, tmp_path: Path) -> Callable[[], VectorIndex]:
        return lambda: ExactIndex(tmp_path / "vectors", TABLE_DIM)

    async def test_a_restart_loads_the_file_and_catches_up(
        self, engine: AsyncEngine, make_index: Callable[[], VectorIndex], tmp_path: Path
    ) -> None:
        vectors = unit_vectors(40, 20)
        ids = await store(engine, vectors)
        first = make_index()
        before = await self.search(engine, first, vectors[5])
        first.close()
        saved = list((tmp_path / "vectors").glob("*.npz"))
        assert len(saved) == 1
        more = unit_vectors(5, 21)
        more_ids = await store(engine, more)
        again = make_index()
        assert again.name == "embedded" and before[0][0] == ids[5]
        everything, all_ids = np.vstack([vectors, more]), ids + more_ids
        found = await self.search(engine, again, vectors[5])
        assert [r for r, _ in found] == [all_ids[i] for i in exact_top(everything, vectors[5], 10)]
        assert (await self.search(engine, again, more[2], k=1))[0][0] == more_ids[2]

    async def test_a_missing_or_damaged_file_is_rebuilt_from_the_table(
        self, engine: AsyncEngine, make_index: Callable[[], VectorIndex], tmp_path: Path
    ) -> None:
        vectors = unit_vectors(40, 22)
        ids = await store(engine, vectors)
        first = make_index()
        await self.search(engine, first, vectors[0])
        first.close()
        for saved in (tmp_path / "vectors").glob("*.npz"):
            saved.write_bytes(b"not a numpy file")
        rebuilt = make_index()
        assert (await self.search(engine, rebuilt, vectors[9], k=1))[0][0] == ids[9]
        assert EMBEDDING.name == "test"


@pytest.mark.postgres
class TestPgVectorIndex(VectorIndexContract):
    exact = False

    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        async with fresh_postgres_database() as url:
            async for engine in _migrated(url):
                yield engine

    @pytest.fixture
    def make_index(self) -> Callable[[], VectorIndex]:
        return PgVectorIndex
