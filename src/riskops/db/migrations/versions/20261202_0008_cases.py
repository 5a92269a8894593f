"""cases: the review queue, notes, dispositions; entity-history indexes on transactions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskops.db.types import JSONDocument, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("reason_codes", JSONDocument, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("card_token", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=26), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("sla_due_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("ix_cases_status_priority_id", "cases", ["status", "priority", "id"])
    op.create_index("ix_cases_status_opened_at_id", "cases", ["status", "opened_at", "id"])
    op.create_index("ix_cases_status_sla_due_at_id", "cases", ["status", "sla_due_at", "id"])
    op.create_index("ix_cases_card_token_status", "cases", ["card_token", "status"])
    op.create_index(op.f("ix_cases_assignee"), "cases", ["assignee"])
    op.create_table(
        "case_transactions",
        sa.Column("case_id", sa.String(length=26), nullable=False),
        sa.Column("transaction_id", sa.String(length=26), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_transactions_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "transaction_id", name=op.f("pk_case_transactions")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_case_transactions_transaction_id")),
    )
    op.create_table(
        "case_notes",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("case_id", sa.String(length=26), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"])
    op.create_table(
        "dispositions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("case_id", sa.String(length=26), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("labels", JSONDocument, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_dispositions_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    op.create_index(op.f("ix_dispositions_case_id"), "dispositions", ["case_id"])
    op.create_index(
        "ix_transactions_card_token_occurred_at", "transactions", ["card_token", "occurred_at"]
    )
    op.create_index(
        "ix_transactions_device_id_occurred_at", "transactions", ["device_id", "occurred_at"]
    )
    op.create_index(
        "ix_transactions_merchant_id_occurred_at", "transactions", ["merchant_id", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_merchant_id_occurred_at", table_name="transactions")
    op.drop_index("ix_transactions_device_id_occurred_at", table_name="transactions")
    op.drop_index("ix_transactions_card_token_occurred_at", table_name="transactions")
    op.drop_index(op.f("ix_dispositions_case_id"), table_name="dispositions")
    op.drop_table("dispositions")
    op.drop_index(op.f("ix_case_notes_case_id"), table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_table("case_transactions")
    op.drop_index(op.f("ix_cases_assignee"), table_name="cases")
    op.drop_index("ix_cases_card_token_status", table_name="cases")
    op.drop_index("ix_cases_status_opened_at_id", table_name="cases")
    op.drop_index("ix_cases_status_sla_due_at_id", table_name="cases")
    op.drop_index("ix_cases_status_priority_id", table_name="cases")
    op.drop_table("cases")
