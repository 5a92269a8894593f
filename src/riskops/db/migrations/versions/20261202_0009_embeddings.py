"""similarity: an embedding per record (pgvector `vector(N)` + HNSW cosine on PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:40:00.000000
"""

import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime
from riskops.similarity.vectors import PgVector

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Fixed here because pgvector's HNSW index needs one dimension; RISKOPS_EMBEDDING_DIM must
# match it (the runtime refuses to start otherwise). A new dimension is a new migration.
DIM = int(os.environ.get("RISKOPS_EMBEDDING_DIM", "384"))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    vector_type: sa.types.TypeEngine[Any] = PgVector(DIM) if postgres else sa.LargeBinary()
    op.create_table(
        "record_embeddings",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("embedding_name", sa.String(length=64), nullable=False),
        sa.Column("embedding_version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("vector", vector_type, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_record_embeddings")),
        sa.UniqueConstraint(
            "record_id",
            "embedding_name",
            "embedding_version",
            name=op.f("uq_record_embeddings_record_id_embedding_name_embedding_version"),
        ),
    )
    op.create_index(
        "ix_record_embeddings_embedding_seq",
        "record_embeddings",
        ["embedding_name", "embedding_version", "seq"],
    )
    op.create_index(op.f("ix_record_embeddings_record_id"), "record_embeddings", ["record_id"])
    op.create_index(op.f("ix_record_embeddings_created_at"), "record_embeddings", ["created_at"])
    if postgres:
        op.execute(
            "CREATE INDEX ix_record_embeddings_vector_hnsw ON record_embeddings"
            " USING hnsw (vector vector_cosine_ops)"
        )
    op.create_table(
        "embedding_versions",
        sa.Column("embedding_name", sa.String(length=64), nullable=False),
        sa.Column("embedding_version", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "embedding_name", "embedding_version", name=op.f("pk_embedding_versions")
        ),
    )


def downgrade() -> None:
    op.drop_table("embedding_versions")
    op.drop_table("record_embeddings")  # its indexes go with it; the extension stays
