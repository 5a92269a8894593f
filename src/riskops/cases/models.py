"""Cases, the payments they hold, analysts' notes and dispositions."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime
from riskops.decisions.models import Transaction


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # The queue's two orders, each a keyset scan within a status.
        Index("ix_cases_status_priority_id", "status", "priority", "id"),
        Index("ix_cases_status_opened_at_id", "status", "opened_at", "id"),
        Index("ix_cases_status_sla_due_at_id", "status", "sla_due_at", "id"),
        # Joining: the open case of a card.
        Index("ix_cases_card_token_status", "card_token", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # open | assigned | closed
    source: Mapped[str] = mapped_column(String(16))  # review | manual
    # score x amount (major units) at opening; raised when a riskier payment joins.
    priority: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    reason_codes: Mapped[list[str]] = mapped_column(JSONDocument)
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # all payments of the case
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(8))
    card_token: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(26))  # the payment that opened it
    disposition: Mapped[str | None] = mapped_column(String(16))  # the latest one
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseTransaction(Base):
    __tablename__ = "case_transactions"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), type_=String(26), primary_key=True)
    # Unique: a payment belongs to one case at most, so a redelivered review event (or a
    # manual case raced by the consumer) can never open a second one.
    transaction_id: Mapped[str] = mapped_column(String(26), primary_key=True, unique=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), type_=String(26), index=True)
    author: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Disposition(Base):
    __tablename__ = "dispositions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), type_=String(26), index=True)
    disposition: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(128))
    labels: Mapped[list[str]] = mapped_column(JSONDocument)  # ids of the labels it wrote
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Entity histories (case page, entity views) read a payment's neighbours by card, device and
# merchant, newest first. Declared here, beside the reads that need them; decisions keeps
# the hot path's own indexes.
_transactions: Any = Transaction.__table__
Index(
    "ix_transactions_card_token_occurred_at",
    _transactions.c.card_token,
    _transactions.c.occurred_at,
)
Index(
    "ix_transactions_device_id_occurred_at", _transactions.c.device_id, _transactions.c.occurred_at
)
Index(
    "ix_transactions_merchant_id_occurred_at",
    _transactions.c.merchant_id,
    _transactions.c.occurred_at,
)
# An IP's history (investigations' linked entities, the scan's rings): without it a quick
# investigation scanned the time window (p95 573 ms at 1M payments on SQLite).
Index("ix_transactions_ip_occurred_at", _transactions.c.ip, _transactions.c.occurred_at)
