"""Similar-case search speed: embedding cost per record, query latency and recall per engine.

    python benchmarks/similarity.py [--sizes 10000 100000] [--pg-size 20000] [--no-pg]

- embedding: CPU per record of the product embedder (`features/1`, 384 dims), in the batches
  the background task uses (500) and one at a time (a feature-payload query);
- embedded engine: exact NumPy search (src/riskops/similarity/exact.py) over N random unit
  vectors: p50/p95 per query, k=10 (recall is 1.0 by construction);
- pgvector: N vectors in `record_embeddings` with its HNSW index on the machine's PostgreSQL,
  p50/p95 per query through the adapter, recall@10 against exact search.

Writes benchmarks/results/similarity.json.
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.features import FEATURE_NAMES
from riskops.similarity import repository
from riskops.similarity.embedders import FeatureEmbedder, fit_feature_params, normalise
from riskops.similarity.exact import ExactIndex, _Matrix
from riskops.similarity.index import EmbeddingId, NeighbourFilter
from riskops.similarity.models import TABLE_DIM
from riskops.similarity.pgvector import PgVectorIndex

RESULTS = Path(__file__).parent / "results" / "similarity.json"
POSTGRES = os.environ.get(
    "RISKOPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
EMBEDDING = EmbeddingId("bench", "1")
QUERIES = 200


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3)}  # fmt: skip


def embedding_cost() -> dict[str, float]:
    rng = np.random.default_rng(1)
    rows = [{n: float(rng.lognormal(2, 1.5)) for n in FEATURE_NAMES} for _ in range(5_000)]
    embedder = FeatureEmbedder.from_params("1", TABLE_DIM, fit_feature_params(FEATURE_NAMES, rows))
    started = time.perf_counter()
    for start in range(0, len(rows), 500):
        embedder.embed_many(rows[start : start + 500])
    batched = (time.perf_counter() - started) / len(rows) * 1e6
    started = time.perf_counter()
    for row in rows[:1_000]:
        embedder.embed(row)
    single = (time.perf_counter() - started) / 1_000 * 1e6
    return {"us_per_record_batched_500": round(batched, 1), "us_per_single_query": round(single, 1)}


def exact_latency(size: int) -> dict[str, Any]:
    rng = np.random.default_rng(size)
    index = ExactIndex(None, TABLE_DIM)
    matrix = _Matrix(TABLE_DIM)
    vectors = normalise(rng.standard_normal((size, TABLE_DIM)))
    matrix.vectors, matrix.size = vectors, size
    matrix.alive = np.ones(size, np.bool_)
    matrix.times = np.zeros(size, np.int64)
    matrix.ids = [str(i) for i in range(size)]
    matrix.models = ["fraud"] * size
    matrix.outcomes = ["approve"] * size
    index._matrices[EMBEDDING] = matrix

    class NoRows:  # the catch-up finds nothing new: only the search itself is timed
        async def execute(self, *_: Any) -> list[Any]:
            return []

    async def run() -> list[float]:
        times = []
        for query in normalise(rng.standard_normal((QUERIES, TABLE_DIM))):
            started = time.perf_counter()
            await index.search(NoRows(), EMBEDDING, query, 10, NeighbourFilter())  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        return times

    times = asyncio.run(run())
    return {"engine": "embedded (exact NumPy)", "vectors": size, "recall_at_10": 1.0,
            **percentiles(times)}  # fmt: skip


async def pgvector_latency(size: int) -> dict[str, Any]:
    name = f"riskops_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES)
    async with admin.connect() as c:
        c = await c.execution_options(isolation_level="AUTOCOMMIT")
        await c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(POSTGRES.rsplit("/", 1)[0] + f"/{name}")
    try:
        await upgrade(engine)
        rng = np.random.default_rng(7)
        vectors = normalise(rng.standard_normal((size, TABLE_DIM)))
        started = time.perf_counter()
        now = datetime.now(UTC)
        for start in range(0, size, 2_000):
            async with engine.begin() as c:
                await repository.insert_embeddings(c, [
                    {"record_id": f"r{i}", "embedding_name": EMBEDDING.name,
                     "embedding_version": EMBEDDING.version, "kind": "decision",
                     "model_name": "fraud", "outcome": "approve", "score": 0.1,
                     "created_at": now, "vector": vectors[i]}
                    for i in range(start, min(size, start + 2_000))
                ])  # fmt: skip
        insert_s = time.perf_counter() - started
        index = PgVectorIndex()
        times, hits = [], 0
        for query in normalise(rng.standard_normal((QUERIES, TABLE_DIM))):
            expected = {f"r{i}" for i in np.argsort(-(vectors @ query))[:10]}
            async with engine.connect() as c:
                t = time.perf_counter()
                found = await index.search(c, EMBEDDING, query, 10, NeighbourFilter())
                times.append(time.perf_counter() - t)
            hits += len(expected & {n.record_id for n in found})
        return {"engine": "pgvector (HNSW, cosine, ef_search 100)", "vectors": size,
                "recall_at_10": round(hits / (10 * QUERIES), 4),
                "insert_with_index_s": round(insert_s, 1), **percentiles(times)}  # fmt: skip
    finally:
        await engine.dispose()
        async with admin.connect() as c:
            c = await c.execution_options(isolation_level="AUTOCOMMIT")
            await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pg-size", type=int, default=20_000)
    parser.add_argument("--pg", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    report: dict[str, Any] = {"dim": TABLE_DIM, "embedding": embedding_cost(), "search": []}
    print("embedding cost:", report["embedding"])
    for size in args.sizes:
        row = exact_latency(size)
        print(row)
        report["search"].append(row)
    if args.pg:
        row = asyncio.run(pgvector_latency(args.pg_size))
        print(row)
        report["search"].append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
