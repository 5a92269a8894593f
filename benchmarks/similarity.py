"""Similar-case search speed at scale: both engines, with filters, recall against exact search.

    python benchmarks/similarity.py [--size 1000000] [--queries 200] [--engines embedded pgvector]
    python benchmarks/similarity.py --threshold      # exact vs graph by size (GRAPH_FROM)

- embedding: CPU per record of the product embedder (`features/1`, 384 dims) in the batches
  the background task uses (500) and one at a time, plus encoding a vector for PostgreSQL
  (binary `real[]` against pgvector's text form): what a decision costs the worker;
- records: `--size` synthetic records (benchmarks/similarity_data.py: feature rows shaped
  like ours, embedded by the product's embedder) written straight into `record_embeddings` by
  a bulk loader (SQLite executemany, PostgreSQL binary COPY), 85% approve / 10% review /
  5% decline over 90 days, 1% labelled fraud;
- embedded: `HnswIndex` rebuilt from the table (read and graph build timed), saved, loaded
  again as after a restart, then queried through the adapter;
- pgvector: the HNSW index built after the load (as `CREATE INDEX` on a full table), the
  planner's choice per filter (EXPLAIN), then queried through the adapter; plus the text
  against binary query parameter;
- per engine and filter (none, outcome=review, the last 7 days, label=fraud): p50/p95 of one
  search (its own connection from the pool, as a request) and recall@10 against exact search
  over the rows passing the filter.

Writes benchmarks/results/similarity.json.
"""

import argparse
import asyncio
import json
import os
import sqlite3
import struct
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import similarity_data  # the sibling module (scripts run as python benchmarks/NAME.py)
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.features import FEATURE_NAMES
from riskops.similarity import graph
from riskops.similarity.exact import _dot
from riskops.similarity.graph import HnswIndex
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter, VectorIndex
from riskops.similarity.models import TABLE_DIM
from riskops.similarity.pgvector import PgVectorIndex
from riskops.similarity.vectors import as_param, to_pg_text

RESULTS = Path(__file__).parent / "results" / "similarity.json"
POSTGRES = os.environ.get(
    "RISKOPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
EMBEDDING = EmbeddingId("bench", "1")
END = datetime(2026, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=90)
OUTCOMES = ("approve", "review", "decline")
FILTERS = {
    "none": NeighbourFilter(),
    "outcome=review (10%)": NeighbourFilter(outcome="review"),
    "last 7 days (8%)": NeighbourFilter(created_from=END - timedelta(days=7)),
    "label=fraud (1%)": NeighbourFilter(label="fraud"),
}

Matrix = npt.NDArray[np.float32]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2)}  # fmt: skip


def embedding_cost() -> dict[str, float]:
    embed = similarity_data.embedder(TABLE_DIM)
    raw = similarity_data.feature_rows(5_000, 1)
    rows = [dict(zip(FEATURE_NAMES, map(float, r), strict=True)) for r in raw]
    started = time.process_time()
    for start in range(0, len(rows), 500):
        vectors = embed.embed_many(rows[start : start + 500])
    batched = (time.process_time() - started) / len(rows) * 1e6
    started = time.process_time()
    for row in rows[:1_000]:
        embed.embed(row)
    single = (time.process_time() - started) / 1_000 * 1e6
    started = time.process_time()
    for vector in vectors:
        to_pg_text(vector)
    as_text = (time.process_time() - started) / len(vectors) * 1e6
    started = time.process_time()
    for vector in vectors:
        as_param(vector)
    as_binary = (time.process_time() - started) / len(vectors) * 1e6
    return {
        "cpu_us_per_record_batched_500": round(batched, 1),
        "cpu_us_per_single_query": round(single, 1),
        "cpu_us_encode_text": round(as_text, 1),
        "cpu_us_encode_binary": round(as_binary, 1),
        "cpu_us_added_per_decision": round(batched + as_binary, 1),
    }


class Records:
    """The stored records and the truth every engine is held to."""

    def __init__(self, size: int, queries: int) -> None:
        started = time.perf_counter()
        self.size = size
        self.vectors = similarity_data.vectors(size, TABLE_DIM, seed=7)
        self.queries = similarity_data.vectors(queries, TABLE_DIM, seed=8)
        rng = np.random.default_rng(9)
        self.outcome = rng.choice(3, size, p=[0.85, 0.10, 0.05])
        self.seconds = np.sort(rng.uniform(0, SPAN.total_seconds(), size))  # older first
        self.fraud = rng.random(size) < 0.01
        self.ids = [f"{i:026d}" for i in range(size)]
        self.generated_s = round(time.perf_counter() - started, 1)

    def at(self, i: int) -> datetime:
        return END - SPAN + timedelta(seconds=float(self.seconds[i]))

    def passing(self, where: NeighbourFilter) -> npt.NDArray[np.bool_]:
        keep = np.ones(self.size, np.bool_)
        if where.outcome is not None:
            keep &= self.outcome == OUTCOMES.index(where.outcome)
        if where.created_from is not None:
            keep &= self.seconds >= (where.created_from - (END - SPAN)).total_seconds()
        if where.label == "fraud":
            keep &= self.fraud
        return keep

    def truth(self, where: NeighbourFilter) -> list[set[str]]:
        """Exact top 10 per query among the rows passing the filter (blocks of 100k rows)."""
        rows = np.flatnonzero(self.passing(where))
        best = [np.zeros(0, np.int64) for _ in self.queries]
        scores = [np.zeros(0, np.float32) for _ in self.queries]
        for start in range(0, len(rows), 100_000):
            block = rows[start : start + 100_000]
            similarity = self.queries @ self.vectors[block].T
            for q in range(len(self.queries)):
                top = np.argpartition(-similarity[q], min(10, len(block) - 1))[:10]
                joined = np.concatenate([scores[q], similarity[q][top]])
                keys = np.concatenate([best[q], block[top]])
                order = np.argsort(-joined)[:10]
                best[q], scores[q] = keys[order], joined[order]
        return [{self.ids[i] for i in b} for b in best]


async def measure(
    records: Records,
    engine: AsyncEngine,
    index: VectorIndex,
    where: NeighbourFilter,
    truth: list[set[str]],
) -> dict[str, Any]:
    times, hits = [], 0
    for query, expected in zip(records.queries, truth, strict=True):
        started = time.perf_counter()
        async with engine.connect() as connection:
            found: list[Neighbour] = await index.search(connection, EMBEDDING, query, 10, where)
        times.append(time.perf_counter() - started)
        hits += len(expected & {n.record_id for n in found})
    return {"recall_at_10": round(hits / (10 * len(truth)), 4), **percentiles(times)}


def label_rows(records: Records) -> list[tuple[str, str, int, str, datetime, datetime]]:
    return [
        (uuid.uuid4().hex[:26], records.ids[i], 1, "analyst", END, END)
        for i in np.flatnonzero(records.fraud)
    ]


# ---------------------------------------------------------------- embedded (SQLite + graph)
def load_sqlite(path: Path, records: Records) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    for start in range(0, records.size, 50_000):
        db.executemany(
            "INSERT INTO record_embeddings (record_id, embedding_name, embedding_version, kind,"
            " model_name, outcome, score, created_at, vector) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (records.ids[i], EMBEDDING.name, EMBEDDING.version, "decision", "fraud",
                 OUTCOMES[records.outcome[i]], 0.1, records.at(i).strftime("%Y-%m-%d %H:%M:%S.%f"),
                 records.vectors[i].tobytes())
                for i in range(start, min(records.size, start + 50_000))
            ],
        )  # fmt: skip
        db.commit()
    db.executemany(
        "INSERT INTO labels (id, transaction_id, label, source, labelled_at, created_at)"
        " VALUES (?,?,?,?,?,?)",
        [(a, b, c, d, e.strftime("%Y-%m-%d %H:%M:%S.%f"), f.strftime("%Y-%m-%d %H:%M:%S.%f"))
         for a, b, c, d, e, f in label_rows(records)],
    )  # fmt: skip
    db.commit()
    db.close()
    return time.perf_counter() - started


async def embedded(records: Records, truths: dict[str, list[set[str]]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="riskops-similarity-") as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        try:
            await upgrade(engine)
            loaded_s = await asyncio.to_thread(load_sqlite, Path(folder) / "bench.db", records)
            index = HnswIndex(Path(folder) / "vectors", TABLE_DIM)
            started = time.perf_counter()
            async with engine.connect() as connection:
                await index.warm(connection, EMBEDDING)
            rebuilt_s = time.perf_counter() - started
            assert index.graph_size(EMBEDDING) == records.size
            started = time.perf_counter()
            index.close()
            saved_s = time.perf_counter() - started
            index = HnswIndex(Path(folder) / "vectors", TABLE_DIM)
            started = time.perf_counter()
            async with engine.connect() as connection:
                await index.warm(connection, EMBEDDING)
            restarted_s = time.perf_counter() - started
            rows = {}
            for label, where in FILTERS.items():
                rows[label] = await measure(records, engine, index, where, truths[label])
                print(f"  embedded {label}: {rows[label]}", flush=True)
            return {
                "engine": f"embedded (hnswlib HNSW M={graph.CONNECTIVITY}, ef_search "
                f"{graph.EF_SEARCH}, exact re-rank; exact below {graph.GRAPH_FROM:,})",
                "load_s": round(loaded_s, 1),
                "rebuild_from_table_s": round(rebuilt_s, 1),
                "save_s": round(saved_s, 1),
                "restart_from_files_s": round(restarted_s, 1),
                "filters": rows,
            }
        finally:
            await engine.dispose()


# ---------------------------------------------------------------- pgvector
def _encode_vector(vector: Matrix) -> bytes:
    return struct.pack(">HH", len(vector), 0) + np.asarray(vector, ">f4").tobytes()


async def load_postgres(url: str, records: Records) -> dict[str, float]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.set_type_codec(
            "vector", schema="public", encoder=_encode_vector, decoder=bytes, format="binary"
        )
        await connection.execute("DROP INDEX ix_record_embeddings_vector_hnsw")
        started = time.perf_counter()
        columns = ["record_id", "embedding_name", "embedding_version", "kind", "model_name",
                   "outcome", "score", "created_at", "vector"]  # fmt: skip
        for start in range(0, records.size, 50_000):
            await connection.copy_records_to_table(
                "record_embeddings",
                columns=columns,
                records=[
                    (records.ids[i], EMBEDDING.name, EMBEDDING.version, "decision", "fraud",
                     OUTCOMES[records.outcome[i]], 0.1, records.at(i), records.vectors[i])
                    for i in range(start, min(records.size, start + 50_000))
                ],
            )  # fmt: skip
        await connection.executemany(
            "INSERT INTO labels (id, transaction_id, label, source, labelled_at, created_at)"
            " VALUES ($1,$2,$3,$4,$5,$6)",
            label_rows(records),
        )
        copied_s = time.perf_counter() - started
        started = time.perf_counter()
        # Room for the whole graph in memory (else the build spills and crawls), one worker
        # beside the leader: the 2 cores of this machine.
        await connection.execute("SET maintenance_work_mem = '3GB'")
        await connection.execute("SET max_parallel_maintenance_workers = 1")
        await connection.execute(
            "CREATE INDEX ix_record_embeddings_vector_hnsw ON record_embeddings"
            " USING hnsw (vector vector_cosine_ops)"
        )
        indexed_s = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE record_embeddings")
        await connection.execute("ANALYZE labels")
        return {"copy_s": round(copied_s, 1), "create_index_s": round(indexed_s, 1)}
    finally:
        await connection.close()


async def text_against_binary(engine: AsyncEngine, records: Records) -> dict[str, Any]:
    """The same nearest query with the vector as pgvector's text and as binary `real[]`."""
    sql = (
        "SELECT record_id FROM record_embeddings WHERE embedding_name = 'bench'"
        " ORDER BY vector <=> {} LIMIT 10"
    )
    forms: dict[str, tuple[str, Callable[[Matrix], Any]]] = {
        "text": (sql.format("CAST(:q AS vector)"), to_pg_text),
        "binary": (sql.format("CAST(CAST(:q AS REAL[]) AS vector)"), as_param),
    }
    out = {}
    for name, (statement, encode) in forms.items():
        times = []
        for query in records.queries:
            started = time.perf_counter()
            async with engine.connect() as connection:
                await connection.execute(text(statement), {"q": encode(query)})
            times.append(time.perf_counter() - started)
        out[name] = percentiles(times)
    return out


async def postgres(records: Records, truths: dict[str, list[set[str]]]) -> dict[str, Any]:
    name = f"riskops_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES)
    async with admin.connect() as c:
        c = await c.execution_options(isolation_level="AUTOCOMMIT")
        await c.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    try:
        await upgrade(engine)
        loading = await load_postgres(url, records)
        print(f"  pgvector load: {loading}", flush=True)
        index = PgVectorIndex(engine)
        await engine.dispose()  # connections from now on open with the search settings
        plans = {}
        async with engine.connect() as connection:
            version = (
                await connection.execute(
                    text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                )
            ).scalar_one()
            for label, where in FILTERS.items():
                plan = await index.explain(connection, EMBEDDING, records.queries[0], 10, where)
                plans[label] = {
                    "uses_hnsw": "ix_record_embeddings_vector_hnsw" in plan,
                    "plan": plan.splitlines(),
                }
        rows = {}
        for label, where in FILTERS.items():
            rows[label] = {
                "uses_hnsw": plans[label]["uses_hnsw"],
                **await measure(records, engine, index, where, truths[label]),
            }
            print(f"  pgvector {label}: {rows[label]}", flush=True)
        return {
            "engine": f"pgvector {version} (HNSW m=16, ef_construction 64, ef_search "
            f"{index.ef_search}, iterative scan relaxed_order)",
            **loading,
            "filters": rows,
            "query_parameter": await text_against_binary(engine, records),
            "plans": plans,
        }
    finally:
        await engine.dispose()
        async with admin.connect() as c:
            c = await c.execution_options(isolation_level="AUTOCOMMIT")
            await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# ---------------------------------------------------------------- exact vs graph by size
def threshold(queries: int) -> list[dict[str, Any]]:
    """One exact product against one graph search, by size: where GRAPH_FROM comes from."""
    out = []
    for size in (2_000, 5_000, 10_000, 20_000, 50_000, 100_000):
        base = similarity_data.vectors(size, TABLE_DIM, seed=11)
        probes = similarity_data.vectors(queries, TABLE_DIM, seed=12)
        exact_times = []
        for q in probes:
            started = time.perf_counter()
            similarity = _dot(base, q)  # as the adapter computes it (no BLAS threads)
            np.argpartition(-similarity, 9)[:10]
            exact_times.append(time.perf_counter() - started)
        index = graph._new_graph(TABLE_DIM, size)
        started = time.perf_counter()
        index.add_items(base, np.arange(size), num_threads=graph.BUILD_THREADS)
        built_s = time.perf_counter() - started
        graph_times = []
        for q in probes:
            started = time.perf_counter()
            index.knn_query(q, k=20, num_threads=1)
            graph_times.append(time.perf_counter() - started)
        row = {"vectors": size, "exact": percentiles(exact_times),
               "graph": percentiles(graph_times), "graph_build_s": round(built_s, 2)}  # fmt: skip
        print(row, flush=True)
        out.append(row)
    return out


def run(step: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    return asyncio.run(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", nargs="+", default=["embedded", "pgvector"])
    parser.add_argument("--threshold", action="store_true", help="exact vs graph by size only")
    args = parser.parse_args()
    report: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.threshold:
        report["exact_vs_graph"] = threshold(args.queries)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        return
    report.update({"dim": TABLE_DIM, "embedding": embedding_cost()})
    print("embedding cost:", report["embedding"], flush=True)
    records = Records(args.size, args.queries)
    started = time.perf_counter()
    truths = {label: records.truth(where) for label, where in FILTERS.items()}
    report.update({"vectors": args.size, "queries": args.queries,
                   "generate_s": records.generated_s,
                   "exact_truth_s": round(time.perf_counter() - started, 1)})  # fmt: skip
    print(f"{args.size:,} records generated in {records.generated_s}s", flush=True)
    steps = {"embedded": embedded, "pgvector": postgres}
    for name in args.engines:
        # Each engine's figures replace its earlier ones and are written at once, so one
        # engine can be measured again without the other.
        row = {"key": name, **run(steps[name](records, truths))}
        if RESULTS.exists():  # another run (the other engine) may have written meanwhile
            report["search"] = json.loads(RESULTS.read_text()).get("search", [])
        report["search"] = [r for r in report.get("search", []) if r.get("key") != name]
        report["search"].append(row)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
