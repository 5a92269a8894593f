"""The recommendation queue: what the scan found, on which entity, and what an analyst did."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from riskops.db.base import Base
from riskops.db.types import JSONDocument, UTCDateTime


class Recommendation(Base):
    __tablename__ = "recommendations"
    __table_args__ = (
        Index("ix_recommendations_status_priority", "status", "priority"),
        Index("ix_recommendations_entity_pattern", "entity_kind", "entity_id", "pattern"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    # "kind:id:pattern" while open, null once acted on: the unique constraint is what keeps
    # one open entry per entity and pattern even when two scans race.
    open_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    entity_kind: Mapped[str] = mapped_column(String(16))  # entities.EntityKind
    entity_id: Mapped[str] = mapped_column(String(255))
    pattern: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # schemas.RecommendationStatus
    priority: Mapped[float] = mapped_column(Float)  # 0..100, lowered by earlier rejections
    strength: Mapped[float] = mapped_column(Float)  # the pattern's own strength, 0..1
    rejections_before: Mapped[int] = mapped_column(Integer)  # what lowered the priority
    summary: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # ids and facts
    suggestion: Mapped[str | None] = mapped_column(String(32))  # candidates.Suggestion
    list_name: Mapped[str | None] = mapped_column(String(64))  # the entry ack may apply
    transaction_id: Mapped[str] = mapped_column(String(26))  # the payment a case would open on
    latest_at: Mapped[datetime] = mapped_column(UTCDateTime())  # newest evidence (event time)
    scans: Mapped[int] = mapped_column(Integer)  # how many scans found it while open
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acted_by: Mapped[str | None] = mapped_column(String(64))
    acted_by_name: Mapped[str | None] = mapped_column(String(128))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(2000))
    case_id: Mapped[str | None] = mapped_column(String(26))
    list_entry: Mapped[str | None] = mapped_column(String(255))  # the value added, if any
