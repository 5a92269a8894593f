"""The transactional outbox: events written with the business change, published after commit."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The relay only ever looks for unpublished rows, oldest first.
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)  # the CloudEvent id (ULID)
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))  # partition key: the account id
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
LogOffset = BigInteger().with_variant(Integer(), "sqlite")


class EventLogEntry(Base):
    """The embedded event log: one append-only sequence, read per topic by offset."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_topic_offset", "topic", "offset"),)

    offset: Mapped[int] = mapped_column(LogOffset, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(128))
    # Raw bytes, as on a broker: a malformed message must be storable to reach its DLQ.
    value: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ConsumerOffset(Base):
    """The committed position of a consumer group in a topic of the embedded log."""

    __tablename__ = "consumer_offsets"

    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(LogOffset)  # the last offset processed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Exactly-once effects: written in the same transaction as a consumer's effects."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())
