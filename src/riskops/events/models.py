"""The transactional outbox: events written with the business change, published after commit."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
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
