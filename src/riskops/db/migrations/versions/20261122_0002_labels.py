"""labels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:28:18.246405
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskops.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("labelled_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("event_id", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("event_id", name=op.f("uq_labels_event_id")),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_labelled_at"), ["labelled_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_labels_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labels_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_labels_labelled_at"))

    op.drop_table("labels")
