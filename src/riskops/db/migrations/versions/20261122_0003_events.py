"""events: embedded log, consumer offsets, processed events, hourly decision aggregates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from riskops.db.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LogOffset = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# PostgreSQL wakes relays in other processes the moment outbox rows commit (one
# notification per inserting statement; NOTIFY is delivered at commit and deduplicated).
NOTIFY_FUNCTION = """
CREATE FUNCTION riskops_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('riskops_outbox', '');
    RETURN NULL;
END;
$$
"""
NOTIFY_TRIGGER = (
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION riskops_outbox_notify()"
)


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("offset", LogOffset, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", JSONDocument, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("offset", name=op.f("pk_event_log")),
    )
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_event_log_topic_offset", ["topic", "offset"], unique=False)
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("position", LogOffset, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "topic", name=op.f("pk_consumer_offsets")),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "decision_stats_hourly",
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("latency_bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_minor_sum", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour",
            "status",
            "channel",
            "country",
            "latency_bucket",
            name=op.f("pk_decision_stats_hourly"),
        ),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS riskops_outbox_notify()")
    op.drop_table("decision_stats_hourly")
    op.drop_table("processed_events")
    op.drop_table("consumer_offsets")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_index("ix_event_log_topic_offset")
        batch_op.drop_index(batch_op.f("ix_event_log_created_at"))
    op.drop_table("event_log")
