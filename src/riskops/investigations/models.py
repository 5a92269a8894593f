"""Investigations as run: the subject, who ran it, the findings and the step trace."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


class Investigation(Base):
    __tablename__ = "investigations"
    __table_args__ = (
        Index("ix_investigations_transaction_id_created_at", "transaction_id", "created_at"),
        Index("ix_investigations_case_id_created_at", "case_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    subject: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # what was asked about
    transaction_id: Mapped[str] = mapped_column(String(26))  # the payment investigated
    case_id: Mapped[str | None] = mapped_column(String(26))
    mode: Mapped[str] = mapped_column(String(8))  # quick | deep
    actor: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(128))
    findings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    trace: Mapped[list[Any]] = mapped_column(JSONDocument)
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
