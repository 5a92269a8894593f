"""PostgreSQL adapter: pgvector's HNSW index (cosine) over the `record_embeddings` table.

Filters run inside the index scan; pgvector 0.8's iterative scan (`hnsw.iterative_scan`)
keeps reading the graph until k rows pass them (without it a selective filter returns fewer
than k), and the outer ORDER BY restores exact order over the relaxed results. The query
vector is a binary `real[]` parameter cast to `vector` (see vectors.py).

The search settings are session defaults set once when a pooled connection opens (`install`),
so a search is one round trip; a connection opened before `install` (or by an engine it was
never called on) gets them transaction-locally first, which costs one round trip more.
"""

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.similarity import repository
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter
from riskops.similarity.vectors import PG_VECTOR_PARAM, Vector, as_param

# pgvector's default is 40. Measured at 1,000,000 records (benchmarks/similarity.py): 100
# keeps recall@10 >= 0.95 with and without filters, and p95 within the 20 ms target.
EF_SEARCH = 100
# Iterative scans stop after this many tuples (pgvector's default 20,000): a filter passing
# 1 record in 50,000 then returns fewer than k; the planner takes the exact path for the
# selective ones it can see (label, a narrow time range) through their own indexes.
MAX_SCAN_TUPLES = 20_000
_MARK = "riskops.hnsw_settings"
_QUERY_VECTOR = re.compile(r"'\[[^\]]*\]'::vector")  # 384 numbers in a plan: shown as $q


def _settings(ef_search: int) -> dict[str, str]:
    return {
        "hnsw.ef_search": str(ef_search),
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.max_scan_tuples": str(MAX_SCAN_TUPLES),
    }


def nearest_query(
    embedding: EmbeddingId,
    vector: Vector,
    k: int,
    where: NeighbourFilter,
    exclude: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The adapter's SQL and parameters (also EXPLAINed by the tests and the benchmark)."""
    clauses = ["embedding_name = :name", "embedding_version = :version"]
    params: dict[str, Any] = {
        "name": embedding.name,
        "version": embedding.version,
        "q": as_param(vector),
        "k": k,
    }
    if where.created_from is not None:
        clauses.append("created_at >= :created_from")
        params["created_from"] = where.created_from
    if where.created_to is not None:
        clauses.append("created_at < :created_to")
        params["created_to"] = where.created_to
    if where.outcome is not None:
        clauses.append("outcome = :outcome")
        params["outcome"] = where.outcome
    if where.model is not None:
        clauses.append("model_name = :model")
        params["model"] = where.model
    if where.label == "fraud":
        clauses.append("record_id IN (SELECT transaction_id FROM labels WHERE label = 1)")
    elif where.label == "legit":
        clauses.append(
            "record_id IN (SELECT transaction_id FROM labels WHERE label = 0"
            " EXCEPT SELECT transaction_id FROM labels WHERE label = 1)"
        )
    if exclude is not None:
        clauses.append("record_id <> :exclude")
        params["exclude"] = exclude
    # Only the fixed clauses above are joined in; every value is a bound parameter.
    where_sql = " AND ".join(clauses)
    query = PG_VECTOR_PARAM.format(":q")
    candidates = (
        f"SELECT record_id, vector <=> {query} AS distance"  # noqa: S608
        f" FROM record_embeddings WHERE {where_sql}"
    )
    if where.label is not None:
        # Only labelled records pass, a small set (labels come for a small share of payments):
        # they are searched exactly. `OFFSET 0` fences the subquery, so the planner cannot walk
        # the HNSW graph through the records that fail the filter, which it would otherwise
        # choose (measured at 100,000 records, 1% labelled fraud: p50 64 ms through the graph).
        candidates = f"SELECT * FROM ({candidates} OFFSET 0) AS labelled"  # noqa: S608
    sql = f"""
        WITH nearest AS MATERIALIZED ({candidates} ORDER BY distance LIMIT :k)
        SELECT record_id, distance FROM nearest ORDER BY distance, record_id
    """  # noqa: S608
    return sql, params


class PgVectorIndex:
    name = "pgvector"

    def __init__(self, engine: AsyncEngine | None = None, ef_search: int = EF_SEARCH) -> None:
        self.ef_search = ef_search
        if engine is not None:
            self.install(engine)

    def install(self, engine: AsyncEngine) -> None:
        """Make the search settings session defaults of every connection the engine opens."""
        settings = _settings(self.ef_search)
        statement = "".join(f"SET {name} = '{value}';" for name, value in settings.items())

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            # Outside any transaction, so a later rollback cannot undo it.
            dbapi_connection.run_async(lambda raw: raw.execute(statement))
            record.info[_MARK] = self.ef_search

        event.listen(engine.sync_engine, "connect", on_connect)

    async def _prepare(self, connection: AsyncConnection, k: int) -> None:
        ef = max(self.ef_search, k)
        if connection.info.get(_MARK) == self.ef_search and ef == self.ef_search:
            return
        # Transaction-local: SQLAlchemy's connection has begun one by now.
        await connection.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true),"
                " set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                " set_config('hnsw.max_scan_tuples', :tuples, true)"
            ),
            {"ef": str(ef), "tuples": str(MAX_SCAN_TUPLES)},
        )

    async def search(
        self,
        connection: AsyncConnection,
        embedding: EmbeddingId,
        vector: Vector,
        k: int,
        where: NeighbourFilter,
        exclude: str | None = None,
    ) -> list[Neighbour]:
        await self._prepare(connection, k)
        sql, params = nearest_query(embedding, vector, k, where, exclude)
        rows = await connection.execute(text(sql), params)
        return [Neighbour(r.record_id, max(0.0, float(r.distance))) for r in rows]

    async def explain(
        self,
        connection: AsyncConnection,
        embedding: EmbeddingId,
        vector: Vector,
        k: int,
        where: NeighbourFilter,
    ) -> str:
        """PostgreSQL's plan for a search (does the HNSW index serve these filters?)."""
        await self._prepare(connection, k)
        sql, params = nearest_query(embedding, vector, k, where)
        rows = await connection.execute(text(f"EXPLAIN (COSTS OFF) {sql}"), params)
        return "\n".join(_QUERY_VECTOR.sub("$q", r[0]) for r in rows)

    async def forget(self, connection: AsyncConnection, record_ids: Sequence[str]) -> None:
        await repository.delete_embeddings(connection, record_ids)

    def clear(self) -> None:
        pass  # everything lives in the table

    def close(self) -> None:
        return None
