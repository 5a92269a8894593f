"""Ledger tables: accounts, transactions (tokenised card only) and entries for approved payments."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import UTCDateTime


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        # Idempotency keys are scoped by account (Stripe semantics).
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_transactions_occurred_at_id", "occurred_at", "id"),
        Index("ix_transactions_account_id_occurred_at_id", "account_id", "occurred_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), type_=String(64))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_token: Mapped[str] = mapped_column(String(64), index=True)
    card_bin: Mapped[str] = mapped_column(String(8))
    card_last4: Mapped[str] = mapped_column(String(4))
    merchant_id: Mapped[str] = mapped_column(String(64))
    merchant_category: Mapped[str] = mapped_column(String(4))
    merchant_country: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(8))
    device_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    """One signed entry per approved payment: the account is debited by the amount."""

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), type_=String(64), index=True)
    transaction_id: Mapped[str] = mapped_column(
        ForeignKey("transactions.id"), type_=String(26), unique=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
