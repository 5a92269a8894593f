"""lists: named value lists for rules (blocked cards, devices, IPs; trusted merchants)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The lists the shipped ruleset reads, created empty (riskops.rules.lists.SHIPPED_LISTS;
# copied, because a migration must not change when the code does).
SHIPPED = (
    ("blocked_cards", "card", "block", "Cards always declined"),
    ("blocked_devices", "device", "block", "Devices always declined"),
    ("blocked_ips", "ip", "block", "IPs and networks declined"),
    ("trusted_merchants", "merchant", "allow", "Merchants exempt from the velocity reviews"),
)


def upgrade() -> None:
    lists = op.create_table(
        "lists",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lists")),
    )
    op.create_table(
        "list_entries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_name"], ["lists.name"], name=op.f("fk_list_entries_list_name_lists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_entries")),
        sa.UniqueConstraint("list_name", "value", name=op.f("uq_list_entries_list_name_value")),
    )
    op.create_index("ix_list_entries_expires_at", "list_entries", ["expires_at"])
    version = op.create_table(
        "lists_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists_version")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        lists,
        [
            {
                "name": name,
                "kind": kind,
                "purpose": purpose,
                "description": description,
                "created_by": "system",
                "created_at": now,
            }
            for name, kind, purpose, description in SHIPPED
        ],
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])
    # Shadow rules' hits, recorded with each decision (rules.RuleEvaluation.shadow_hits).
    op.add_column("decisions", sa.Column("shadow_hits", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_column("shadow_hits")
    op.drop_table("lists_version")
    op.drop_index("ix_list_entries_expires_at", table_name="list_entries")
    op.drop_table("list_entries")
    op.drop_table("lists")
