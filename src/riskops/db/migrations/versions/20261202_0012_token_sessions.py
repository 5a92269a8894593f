"""console sessions signed in with an OIDC token: no API key, the token's subject and role

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite changes a column's nullability by copying the table.
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=26), nullable=True)
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Token sessions have no key to fall back on: they end with the downgrade.
    op.execute("DELETE FROM console_sessions WHERE key_id IS NULL")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_column("role")
        batch_op.drop_column("name")
        batch_op.drop_column("subject")
        batch_op.alter_column("key_id", existing_type=sa.String(length=26), nullable=False)
