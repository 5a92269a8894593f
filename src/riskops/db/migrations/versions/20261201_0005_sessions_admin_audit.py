"""security: server-side console sessions, the administrative audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_console_sessions_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        for column in ("expires_at", "key_id"):
            batch_op.create_index(batch_op.f(f"ix_console_sessions_{column}"), [column])
    op.create_table(
        "admin_audit_entries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit_entries")),
    )
    with op.batch_alter_table("admin_audit_entries", schema=None) as batch_op:
        for column in ("action", "actor", "target"):
            batch_op.create_index(batch_op.f(f"ix_admin_audit_entries_{column}"), [column])
        batch_op.create_index("ix_admin_audit_entries_at_id", ["at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("admin_audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_audit_entries_at_id")
        for column in ("action", "actor", "target"):
            batch_op.drop_index(batch_op.f(f"ix_admin_audit_entries_{column}"))
    op.drop_table("admin_audit_entries")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        for column in ("expires_at", "key_id"):
            batch_op.drop_index(batch_op.f(f"ix_console_sessions_{column}"))
    op.drop_table("console_sessions")
