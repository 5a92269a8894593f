"""transactions by IP and time: an IP's history without scanning the time window

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_transactions_ip_occurred_at", "transactions", ["ip", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_transactions_ip_occurred_at", table_name="transactions")
