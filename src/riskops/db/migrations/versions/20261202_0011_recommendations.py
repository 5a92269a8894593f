"""recommendations: the queue the continuous scan fills and analysts act on

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("open_key", sa.String(length=400), nullable=True),
        sa.Column("entity_kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("pattern", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("rejections_before", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("suggestion", sa.String(length=32), nullable=True),
        sa.Column("list_name", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=26), nullable=False),
        sa.Column("latest_at", UTCDateTime(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("acted_by", sa.String(length=64), nullable=True),
        sa.Column("acted_by_name", sa.String(length=128), nullable=True),
        sa.Column("acted_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column("case_id", sa.String(length=26), nullable=True),
        sa.Column("list_entry", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("open_key", name=op.f("uq_recommendations_open_key")),
    )
    op.create_index("ix_recommendations_status_priority", "recommendations", ["status", "priority"])
    op.create_index(
        "ix_recommendations_entity_pattern",
        "recommendations",
        ["entity_kind", "entity_id", "pattern"],
    )


def downgrade() -> None:
    op.drop_index("ix_recommendations_entity_pattern", table_name="recommendations")
    op.drop_index("ix_recommendations_status_priority", table_name="recommendations")
    op.drop_table("recommendations")
