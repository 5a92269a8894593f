"""investigations: each run with its findings and step trace

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "investigations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subject", JSON, nullable=False),
        sa.Column("transaction_id", sa.String(length=26), nullable=False),
        sa.Column("case_id", sa.String(length=26), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("trace", JSON, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investigations")),
    )
    op.create_index(
        "ix_investigations_transaction_id_created_at",
        "investigations",
        ["transaction_id", "created_at"],
    )
    op.create_index(
        "ix_investigations_case_id_created_at", "investigations", ["case_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_investigations_case_id_created_at", table_name="investigations")
    op.drop_index("ix_investigations_transaction_id_created_at", table_name="investigations")
    op.drop_table("investigations")
