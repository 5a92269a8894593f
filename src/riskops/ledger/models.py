"""Ledger tables: accounts and the entries of approved payments (transactions: decisions.models)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import UTCDateTime


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
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
