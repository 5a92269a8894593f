"""The VectorIndex contract on the embedded indexes (exact, and the HNSW graph, on SQLite) and
on pgvector (PostgreSQL), plus what only one engine has: the embedded files in the data
folder, the choice of exact or graph by count, and pgvector's query plan."""

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.similarity import graph as graph_module
from riskops.similarity import repository
from riskops.similarity.exact import ExactIndex
from riskops.similarity.graph import HnswIndex
from riskops.similarity.index import EmbeddingId, NeighbourFilter, VectorIndex
from riskops.similarity.models import TABLE_DIM
from riskops.similarity.pgvector import PgVectorIndex
from tests.conftest import fresh_postgres_database
from tests.similarity.contract import (
    EMBEDDING,
    NO_FILTER,
    T0,
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


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in _migrated(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"):
        yield engine


class EmbeddedFiles(VectorIndexContract):
    """Restart and rebuild, shared by both embedded adapters (`suffixes`: their files)."""

    suffixes: tuple[str, ...]

    async def test_a_restart_loads_the_files_and_catches_up(
        self, engine: AsyncEngine, make_index: Callable[[], VectorIndex], tmp_path: Path
    ) -> None:
        vectors = unit_vectors(40, 20)
        ids = await store(engine, vectors)
        first = make_index()
        before = await self.search(engine, first, vectors[5])
        first.close()
        for suffix in self.suffixes:
            assert len(list((tmp_path / "vectors").glob(f"*{suffix}"))) == 1, suffix
        more = unit_vectors(5, 21)
        more_ids = await store(engine, more)
        again = make_index()
        assert again.name == "embedded" and before[0][0] == ids[5]
        everything, all_ids = np.vstack([vectors, more]), ids + more_ids
        found = await self.search(engine, again, vectors[5])
        expected = [all_ids[i] for i in exact_top(everything, vectors[5], 10)]
        assert len({r for r, _ in found} & set(expected)) >= 9
        assert (await self.search(engine, again, more[2], k=1))[0][0] == more_ids[2]

    async def test_a_missing_or_damaged_file_is_rebuilt_from_the_table(
        self, engine: AsyncEngine, make_index: Callable[[], VectorIndex], tmp_path: Path
    ) -> None:
        vectors = unit_vectors(40, 22)
        ids = await store(engine, vectors)
        first = make_index()
        await self.search(engine, first, vectors[0])
        first.close()
        for saved in (tmp_path / "vectors").iterdir():
            saved.write_bytes(b"not an index file")
        rebuilt = make_index()
        assert (await self.search(engine, rebuilt, vectors[9], k=1))[0][0] == ids[9]
        rebuilt.close()
        for saved in (tmp_path / "vectors").iterdir():
            saved.unlink()
        again = make_index()
        assert (await self.search(engine, again, vectors[11], k=1))[0][0] == ids[11]
        assert EMBEDDING.name == "test"

    async def test_rows_deleted_while_the_index_was_saved_are_not_found(
        self, engine: AsyncEngine, make_index: Callable[[], VectorIndex]
    ) -> None:
        vectors = unit_vectors(30, 23)
        ids = await store(engine, vectors)
        first = make_index()
        await self.search(engine, first, vectors[0])
        first.close()
        async with engine.begin() as connection:  # another process deletes them
            await repository.delete_embeddings(connection, ids[:3])
        again = make_index()
        found = {r for r, _ in await self.search(engine, again, vectors[0], k=30)}
        assert found == set(ids[3:])


class TestExactIndex(EmbeddedFiles):
    exact = True
    suffixes = (".npz",)

    @pytest.fixture
    def engine(self, sqlite_engine: AsyncEngine) -> AsyncEngine:
        return sqlite_engine

    @pytest.fixture
    def make_index(self, tmp_path: Path) -> Callable[[], VectorIndex]:
        return lambda: ExactIndex(tmp_path / "vectors", TABLE_DIM)


class TestHnswIndex(EmbeddedFiles):
    """The graph answers every search here (`graph_from=1`); each search first waits for
    the graph to hold every row, so no answer comes from the exact fallback of a build."""

    exact = False
    suffixes = (".npz", ".hnsw")

    @pytest.fixture
    def engine(self, sqlite_engine: AsyncEngine) -> AsyncEngine:
        return sqlite_engine

    @pytest.fixture
    def make_index(self, tmp_path: Path) -> Callable[[], VectorIndex]:
        return lambda: HnswIndex(tmp_path / "vectors", TABLE_DIM, graph_from=1)

    async def search(
        self,
        engine: AsyncEngine,
        index: VectorIndex,
        query: npt.NDArray[np.float32],
        k: int = 10,
        where: NeighbourFilter = NO_FILTER,
        exclude: str | None = None,
        embedding: EmbeddingId = EMBEDDING,
    ) -> list[tuple[str, float]]:
        assert isinstance(index, HnswIndex)
        async with engine.connect() as connection:
            await index.warm(connection, embedding)
            size = await repository.count_embedded(connection, embedding)
        assert index.graph_size(embedding) >= size  # deleted rows stay in it, masked
        return await super().search(engine, index, query, k, where, exclude, embedding)


async def test_the_embedded_index_is_exact_below_the_threshold_and_a_graph_from_it(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    index = HnswIndex(tmp_path / "vectors", TABLE_DIM, graph_from=100)
    vectors = unit_vectors(99, 30)
    await store(sqlite_engine, vectors)
    async with sqlite_engine.connect() as connection:
        await index.warm(connection, EMBEDDING)
        assert index.graph_size(EMBEDDING) == 0
    await store(sqlite_engine, unit_vectors(1, 31))
    async with sqlite_engine.connect() as connection:
        await index.warm(connection, EMBEDDING)
        assert index.graph_size(EMBEDDING) == 100


async def test_a_large_backlog_is_built_in_the_background_and_searched_exactly_meanwhile(
    sqlite_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_module, "INLINE_ADD", 10)
    monkeypatch.setattr(graph_module, "BUILD_CHUNK", 40)
    index = HnswIndex(tmp_path / "vectors", TABLE_DIM, graph_from=1)
    vectors = unit_vectors(200, 32)
    ids = await store(sqlite_engine, vectors)
    async with sqlite_engine.connect() as connection:
        found = await index.search(connection, EMBEDDING, vectors[7], 10, NO_FILTER)
        assert [n.record_id for n in found] == [ids[i] for i in exact_top(vectors, vectors[7], 10)]
        await index.warm(connection, EMBEDDING)
    assert index.graph_size(EMBEDDING) == 200


async def test_a_selective_filter_falls_back_to_exact_search_over_the_rows_passing_it(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    index = HnswIndex(tmp_path / "vectors", TABLE_DIM, graph_from=1)
    vectors = unit_vectors(3000, 33)
    ids = await store(
        sqlite_engine,
        vectors,
        facts=lambda i: {"outcome": "decline" if i % 500 == 0 else "approve"},
    )
    rare = [i for i in range(3000) if i % 500 == 0]  # 6 rows: far more than MAX_FETCH needed
    async with sqlite_engine.connect() as connection:
        await index.warm(connection, EMBEDDING)
        found = await index.search(
            connection, EMBEDDING, vectors[1], 10, NeighbourFilter(outcome="decline")
        )
    assert index.graph_size(EMBEDDING) == 3000
    expected = [ids[rare[i]] for i in exact_top(vectors[rare], vectors[1], 10)]
    assert [n.record_id for n in found] == expected


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

    async def test_vectors_travel_binary_and_come_back_unchanged(self, engine: AsyncEngine) -> None:
        vectors = unit_vectors(3, 40)
        ids = await store(engine, vectors)
        async with engine.connect() as connection:
            back = await repository.vector_of(connection, ids[1], EMBEDDING)
        assert back.dtype == np.float32 and np.array_equal(back, vectors[1])

    async def test_settings_are_session_defaults_on_an_installed_engine(
        self, engine: AsyncEngine
    ) -> None:
        index = PgVectorIndex(engine, ef_search=123)
        await engine.dispose()  # connections opened from now on get the defaults
        async with engine.connect() as connection:
            await index.search(connection, EMBEDDING, unit_vectors(1, 41)[0], 5, NO_FILTER)
            ef = (await connection.execute(text("SHOW hnsw.ef_search"))).scalar_one()
            scan = (await connection.execute(text("SHOW hnsw.iterative_scan"))).scalar_one()
        assert (ef, scan) == ("123", "relaxed_order")

    async def test_the_hnsw_index_serves_filtered_searches(self, engine: AsyncEngine) -> None:
        """The query's shape lets the planner use the HNSW index with each filter; at this
        size it would rather scan, so scans are discouraged (the 1M benchmark shows the
        plans it picks on its own)."""
        await store(engine, unit_vectors(200, 42))
        index = PgVectorIndex()
        filters = [
            NO_FILTER,
            NeighbourFilter(outcome="decline"),
            NeighbourFilter(model="fraud"),
            NeighbourFilter(created_from=T0, created_to=T0 + timedelta(days=1)),
        ]
        async with engine.connect() as connection:
            await connection.execute(text("SET LOCAL enable_seqscan = off"))
            await connection.execute(text("SET LOCAL enable_sort = off"))
            for where in filters:
                plan = await index.explain(connection, EMBEDDING, unit_vectors(1, 43)[0], 10, where)
                assert "ix_record_embeddings_vector_hnsw" in plan, (where, plan)
            # Labelled records are few: searched exactly, never through the graph.
            where = NeighbourFilter(label="fraud")
            plan = await index.explain(connection, EMBEDDING, unit_vectors(1, 43)[0], 10, where)
            assert "ix_record_embeddings_vector_hnsw" not in plan, plan
