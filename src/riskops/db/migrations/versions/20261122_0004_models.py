"""models: prediction records, shadow scores, drift reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prediction_records",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column(
            "features", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column(
            "explanations",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_records")),
    )
    with op.batch_alter_table("prediction_records", schema=None) as batch_op:
        for column in ("created_at", "label", "model_name", "score"):
            batch_op.create_index(
                batch_op.f(f"ix_prediction_records_{column}"), [column], unique=False
            )
    op.create_table(
        "shadow_scores",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("champion_score", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_scores")),
    )
    with op.batch_alter_table("shadow_scores", schema=None) as batch_op:
        for column in ("created_at", "model_name", "transaction_id"):
            batch_op.create_index(batch_op.f(f"ix_shadow_scores_{column}"), [column], unique=False)
    op.create_table(
        "drift_reports",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("score_psi", sa.Float(), nullable=True),
        sa.Column("max_psi", sa.Float(), nullable=True),
        sa.Column("max_psi_feature", sa.String(length=128), nullable=True),
        sa.Column(
            "features_psi",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_reports")),
    )
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        for column in ("created_at", "model_name"):
            batch_op.create_index(batch_op.f(f"ix_drift_reports_{column}"), [column], unique=False)


def downgrade() -> None:
    for table, columns in (
        ("drift_reports", ("created_at", "model_name")),
        ("shadow_scores", ("created_at", "model_name", "transaction_id")),
        ("prediction_records", ("created_at", "label", "model_name", "score")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
