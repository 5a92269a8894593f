"""The VectorIndex contract: the embedded index and pgvector pass exactly these assertions.

Subclass `VectorIndexContract` per adapter and provide `engine` (a migrated, empty database)
and `make_index` (a new adapter instance; called again to "restart"). Vectors go through the
repository into `record_embeddings`, the table every adapter reads.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.ids import new_id
from riskops.db.base import table_of
from riskops.labels.models import Label
from riskops.similarity import repository
from riskops.similarity.embedders import normalise
from riskops.similarity.index import EmbeddingId, NeighbourFilter, VectorIndex
from riskops.similarity.models import TABLE_DIM

T0 = datetime(2026, 11, 1, tzinfo=UTC)
EMBEDDING = EmbeddingId("test", "1")
OTHER = EmbeddingId("test", "2")
NO_FILTER = NeighbourFilter()


def unit_vectors(count: int, seed: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    return normalise(rng.standard_normal((count, TABLE_DIM)))


def exact_top(
    vectors: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int
) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


async def store(
    engine: AsyncEngine,
    vectors: npt.NDArray[np.float32],
    embedding: EmbeddingId = EMBEDDING,
    facts: Callable[[int], dict[str, Any]] | None = None,
) -> list[str]:
    ids = [new_id() for _ in range(len(vectors))]
    rows = [
        {
            "record_id": ids[i],
            "embedding_name": embedding.name,
            "embedding_version": embedding.version,
            "kind": "decision",
            "model_name": "fraud",
            "outcome": "approve",
            "score": 0.1,
            "created_at": T0 + timedelta(minutes=i),
            "vector": vectors[i],
            **(facts(i) if facts else {}),
        }
        for i in range(len(vectors))
    ]
    async with engine.begin() as connection:
        for start in range(0, len(rows), 1000):
            await repository.insert_embeddings(connection, rows[start : start + 1000])
    return ids


class VectorIndexContract:
    exact: bool  # an exact adapter must return exactly the brute-force order

    @pytest.fixture
    def index(self, make_index: Callable[[], VectorIndex]) -> VectorIndex:
        return make_index()

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
        async with engine.connect() as connection:
            found = await index.search(connection, embedding, query, k, where, exclude)
        return [(n.record_id, n.distance) for n in found]

    async def test_an_empty_index_finds_nothing(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        assert await self.search(engine, index, unit_vectors(1, 1)[0]) == []

    async def test_nearest_first_with_cosine_distances(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        vectors = unit_vectors(200, 2)
        ids = await store(engine, vectors)
        query = vectors[17]
        found = await self.search(engine, index, query, k=5)
        assert found[0] == (ids[17], pytest.approx(0.0, abs=1e-5))
        expected = exact_top(vectors, query, 5)
        distances = [d for _, d in found]
        assert distances == sorted(distances)
        for record_id, distance in found:
            i = ids.index(record_id)
            assert distance == pytest.approx(1 - float(vectors[i] @ query), abs=1e-4)
        if self.exact:
            assert [r for r, _ in found] == [ids[i] for i in expected]

    async def test_the_query_record_can_be_left_out(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        vectors = unit_vectors(50, 3)
        ids = await store(engine, vectors)
        found = await self.search(engine, index, vectors[3], k=3, exclude=ids[3])
        assert ids[3] not in [r for r, _ in found]
        assert len(found) == 3

    async def test_k_larger_than_the_index_returns_everything(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        vectors = unit_vectors(7, 4)
        ids = await store(engine, vectors)
        found = await self.search(engine, index, vectors[0], k=50)
        assert sorted(r for r, _ in found) == sorted(ids)

    async def test_versions_do_not_mix(self, engine: AsyncEngine, index: VectorIndex) -> None:
        old = await store(engine, unit_vectors(20, 5), EMBEDDING)
        new = await store(engine, unit_vectors(20, 6), OTHER)
        query = unit_vectors(1, 7)[0]
        assert {r for r, _ in await self.search(engine, index, query, k=50)} == set(old)
        found = await self.search(engine, index, query, k=50, embedding=OTHER)
        assert {r for r, _ in found} == set(new)

    async def test_filters(self, engine: AsyncEngine, index: VectorIndex) -> None:
        vectors = unit_vectors(120, 8)
        outcomes = ("approve", "review", "decline")
        ids = await store(
            engine,
            vectors,
            facts=lambda i: {
                "outcome": outcomes[i % 3],
                "model_name": "fraud" if i % 2 else "other",
            },
        )
        fraud = {ids[i] for i in range(0, 120, 10)}
        legit = {ids[i] for i in range(5, 120, 10)}
        async with engine.begin() as connection:
            await connection.execute(
                insert(table_of(Label)),
                [
                    {
                        "id": new_id(),
                        "transaction_id": record_id,
                        "label": int(record_id in fraud),
                        "source": "analyst",
                        "labelled_at": T0,
                        "created_at": T0,
                    }
                    for record_id in fraud | legit
                ],
            )
        query = vectors[0]

        async def found(where: NeighbourFilter) -> set[str]:
            return {r for r, _ in await self.search(engine, index, query, k=200, where=where)}

        assert await found(NeighbourFilter(outcome="review")) == set(ids[1::3])
        assert await found(NeighbourFilter(model="other")) == set(ids[0::2])
        window = NeighbourFilter(
            created_from=T0 + timedelta(minutes=10), created_to=T0 + timedelta(minutes=20)
        )
        assert await found(window) == set(ids[10:20])
        assert await found(NeighbourFilter(label="fraud")) == fraud
        assert await found(NeighbourFilter(label="legit")) == legit
        both = NeighbourFilter(outcome="approve", label="fraud")
        assert await found(both) == {ids[i] for i in range(0, 120, 10) if i % 3 == 0}
        # A selective filter still fills k when enough records pass it.
        top = await self.search(engine, index, query, k=5, where=NeighbourFilter(label="fraud"))
        assert len(top) == 5

    async def test_deleted_records_are_not_found(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        vectors = unit_vectors(30, 9)
        ids = await store(engine, vectors)
        await self.search(engine, index, vectors[0])  # the index has seen them
        async with engine.begin() as connection:
            await index.forget(connection, [ids[0], ids[1]])
        found = {r for r, _ in await self.search(engine, index, vectors[0], k=30)}
        assert found == set(ids[2:])

    async def test_vectors_written_after_a_search_are_found(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        first = unit_vectors(10, 10)
        await store(engine, first)
        await self.search(engine, index, first[0])
        later = unit_vectors(10, 11)
        later_ids = await store(engine, later)
        found = await self.search(engine, index, later[4], k=1)
        assert found[0][0] == later_ids[4]

    async def test_recall_at_10_against_brute_force(
        self, engine: AsyncEngine, index: VectorIndex
    ) -> None:
        vectors = unit_vectors(3000, 12)
        ids = await store(engine, vectors)
        queries = unit_vectors(50, 13)
        hits = 0
        for query in queries:
            expected = {ids[i] for i in exact_top(vectors, query, 10)}
            hits += len(expected & {r for r, _ in await self.search(engine, index, query)})
        recall = hits / (10 * len(queries))
        assert recall >= (1.0 if self.exact else 0.95), recall
