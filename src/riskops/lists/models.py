"""Lists, their entries, and the one counter every list change bumps (what pollers watch)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import UTCDateTime


class ValueList(Base):
    __tablename__ = "lists"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # rules.lists.ListKind
    purpose: Mapped[str] = mapped_column(String(16))  # rules.lists.ListPurpose
    description: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (
        UniqueConstraint("list_name", "value"),
        Index("ix_list_entries_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    list_name: Mapped[str] = mapped_column(ForeignKey("lists.name"), type_=String(64))
    # Normalised: a card's HMAC token (never the number), an IP network in CIDR form, ...
    value: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ListsVersion(Base):
    """One row: bumped in the transaction of every list change, so a poller compares one
    integer every second instead of reading every entry."""

    __tablename__ = "lists_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
