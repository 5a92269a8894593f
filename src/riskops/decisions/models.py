"""The transactions (tokenised card only), their decision records and audit rows."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


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


class Decision(Base):
    __tablename__ = "decisions"

    transaction_id: Mapped[str] = mapped_column(
        ForeignKey("transactions.id"), type_=String(26), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    basis: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float, index=True)
    score_source: Mapped[str] = mapped_column(String(16))
    reason_codes: Mapped[list[str]] = mapped_column(JSONDocument)
    rule_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    rule_errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # Hits of shadow-mode rules (null on decisions made before they existed).
    shadow_hits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    features: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DecisionAudit(Base):
    __tablename__ = "decision_audits"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(
        ForeignKey("transactions.id"), type_=String(26), unique=True
    )
    inputs_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    rules_triggered: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
