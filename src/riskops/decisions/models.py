"""Decision records and their audit rows."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


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
