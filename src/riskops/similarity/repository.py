"""Queries of similar cases: records waiting for an embedding, vectors in and out, labels."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.decisions.models import Decision
from riskops.labels.models import Label
from riskops.ml.models import PredictionRecord
from riskops.similarity.index import EmbeddingId
from riskops.similarity.models import EmbeddingVersion, RecordEmbedding

embeddings = table_of(RecordEmbedding)
versions = table_of(EmbeddingVersion)
decisions = table_of(Decision)
predictions = table_of(PredictionRecord)
labels = table_of(Label)


def _records() -> Any:
    """Decisions and predictions as one relation with what an embedding row copies."""
    decided = select(
        decisions.c.transaction_id.label("id"),
        literal("decision").label("kind"),
        decisions.c.model_name,
        decisions.c.status.label("outcome"),
        decisions.c.score,
        decisions.c.features,
        decisions.c.created_at,
    )
    predicted = select(
        predictions.c.id,
        literal("prediction").label("kind"),
        predictions.c.model_name,
        predictions.c.label.label("outcome"),
        predictions.c.score,
        predictions.c.features,
        predictions.c.created_at,
    )
    return union_all(decided, predicted).subquery("records")


async def records_without(
    connection: AsyncConnection,
    embedding: EmbeddingId,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The next records (oldest first, after a keyset position) lacking this embedding."""
    both = _records()
    has = (
        select(embeddings.c.seq)
        .where(
            embeddings.c.record_id == both.c.id,
            embeddings.c.embedding_name == embedding.name,
            embeddings.c.embedding_version == embedding.version,
        )
        .exists()
    )
    query = select(both).where(~has)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(both.c.created_at > at, and_(both.c.created_at == at, both.c.id > last_id))
        )
    rows = await connection.execute(query.order_by(both.c.created_at, both.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


async def count_records(connection: AsyncConnection) -> int:
    both = _records()
    return int((await connection.execute(select(func.count()).select_from(both))).scalar_one())


async def count_embedded(connection: AsyncConnection, embedding: EmbeddingId) -> int:
    query = select(func.count()).where(
        embeddings.c.embedding_name == embedding.name,
        embeddings.c.embedding_version == embedding.version,
    )
    return int((await connection.execute(query)).scalar_one())


async def embedded_ids(connection: AsyncConnection, embedding: EmbeddingId) -> set[str]:
    query = select(embeddings.c.record_id).where(
        embeddings.c.embedding_name == embedding.name,
        embeddings.c.embedding_version == embedding.version,
    )
    return {r[0] for r in await connection.execute(query)}


async def insert_embeddings(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(embeddings), list(rows))


async def delete_embeddings(connection: AsyncConnection, record_ids: Sequence[str]) -> None:
    await connection.execute(delete(embeddings).where(embeddings.c.record_id.in_(record_ids)))


async def vector_of(
    connection: AsyncConnection, record_id: str, embedding: EmbeddingId
) -> Any | None:
    query = select(embeddings.c.vector).where(
        embeddings.c.record_id == record_id,
        embeddings.c.embedding_name == embedding.name,
        embeddings.c.embedding_version == embedding.version,
    )
    return (await connection.execute(query)).scalar_one_or_none()


async def rows_after(
    connection: AsyncConnection, embedding: EmbeddingId, seq: int, limit: int
) -> list[Any]:
    """Embedding rows written after `seq` (the embedded index's catch-up)."""
    query = (
        select(
            embeddings.c.seq,
            embeddings.c.record_id,
            embeddings.c.model_name,
            embeddings.c.outcome,
            embeddings.c.created_at,
            embeddings.c.vector,
        )
        .where(
            embeddings.c.embedding_name == embedding.name,
            embeddings.c.embedding_version == embedding.version,
            embeddings.c.seq > seq,
        )
        .order_by(embeddings.c.seq)
        .limit(limit)
    )
    return list(await connection.execute(query))


def fraud_ids() -> Any:
    return select(labels.c.transaction_id).where(labels.c.label == 1)


def legit_ids() -> Any:
    return select(labels.c.transaction_id).where(
        labels.c.label == 0, labels.c.transaction_id.not_in(fraud_ids())
    )


async def labelled(connection: AsyncConnection, label: str) -> set[str]:
    query = fraud_ids() if label == "fraud" else legit_ids()
    return {r[0] for r in await connection.execute(query)}


async def labels_of(connection: AsyncConnection, record_ids: Sequence[str]) -> dict[str, str]:
    """fraud / legit per record with a known label (fraud wins over a later genuine)."""
    query = (
        select(labels.c.transaction_id, func.max(labels.c.label))
        .where(labels.c.transaction_id.in_(record_ids))
        .group_by(labels.c.transaction_id)
    )
    return {r[0]: "fraud" if r[1] else "legit" for r in await connection.execute(query)}


async def facts_of(connection: AsyncConnection, record_ids: Sequence[str]) -> dict[str, Any]:
    query = select(
        embeddings.c.record_id,
        embeddings.c.kind,
        embeddings.c.model_name,
        embeddings.c.outcome,
        embeddings.c.score,
        embeddings.c.created_at,
    ).where(embeddings.c.record_id.in_(record_ids))
    return {r.record_id: r for r in await connection.execute(query)}


async def get_version(connection: AsyncConnection, embedding: EmbeddingId) -> Any | None:
    query = select(versions).where(
        versions.c.embedding_name == embedding.name,
        versions.c.embedding_version == embedding.version,
    )
    return (await connection.execute(query)).first()


async def insert_version(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(versions), [row])


async def sample_features(connection: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    """The most recent records' features, to fit a new version's scales on."""
    both = _records()
    query = select(both.c.features).order_by(both.c.created_at.desc()).limit(limit)
    return [r[0] for r in await connection.execute(query)]


async def record_exists(connection: AsyncConnection, record_id: str) -> bool:
    decided = select(decisions.c.transaction_id).where(decisions.c.transaction_id == record_id)
    predicted = select(predictions.c.id).where(predictions.c.id == record_id)
    found = await connection.execute(union_all(decided, predicted).limit(1))
    return found.first() is not None
