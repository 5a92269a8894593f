"""The embeddings table: one row per (record, embedding name, version).

What a search filters on and shows (outcome, model, score, time) is copied in when the vector
is written: those facts never change for a record, and the engines filter inside the index
scan instead of joining. The fraud label is not copied: it arrives later and can change.
"""

import os
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime
from riskops.similarity.vectors import Vector, VectorColumn

# The column's dimension is fixed by the migration (pgvector's HNSW needs one); the setting
# RISKOPS_EMBEDDING_DIM must match it, which the runtime checks at start.
TABLE_DIM = int(os.environ.get("RISKOPS_EMBEDDING_DIM", "384"))


class RecordEmbedding(Base):
    __tablename__ = "record_embeddings"
    __table_args__ = (
        UniqueConstraint("record_id", "embedding_name", "embedding_version"),
        Index("ix_record_embeddings_embedding_seq", "embedding_name", "embedding_version", "seq"),
        # pgvector's graph index for cosine distance; SQLite has none (the embedded index
        # lives in the process).
        Index(
            "ix_record_embeddings_vector_hnsw",
            "vector",
            postgresql_using="hnsw",
            postgresql_ops={"vector": "vector_cosine_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    # An increasing sequence: the embedded index catches up with `seq > last seen`.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    record_id: Mapped[str] = mapped_column(String(26), index=True)
    embedding_name: Mapped[str] = mapped_column(String(64))
    embedding_version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # decision | prediction
    model_name: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))  # approve/review/decline; fraud/legit
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    vector: Mapped[Vector] = mapped_column(VectorColumn(TABLE_DIM))


class EmbeddingVersion(Base):
    """What an embedding version was fitted with (feature scales), so every process and every
    backfill embeds a record the same way."""

    __tablename__ = "embedding_versions"

    embedding_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    embedding_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
