"""API shapes of the recommendation queue and what analysts send to act on it."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from riskops.recommendations.candidates import Suggestion


class RecommendationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckRequest(Strict):
    open_case: bool = Field(
        default=False, description="Open a case on the recommendation's newest payment"
    )
    apply_list_entry: bool = Field(
        default=False, description="Put the entity on the recommended block or watch list"
    )
    note: str = Field(default="", max_length=2000)


class RejectRequest(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why it is not a lead")


class RecommendationOut(Strict):
    id: str
    status: RecommendationStatus
    entity: dict[str, str] = Field(description='{"kind", "id"} of the entity it is about')
    pattern: str
    priority: float = Field(description="0..100; halved by each earlier rejection")
    strength: float
    rejections_before: int
    summary: str
    evidence: dict[str, Any] = Field(description="transaction_ids, newest first, and facts")
    suggestion: Suggestion | None
    list_name: str | None
    transaction_id: str
    latest_at: datetime
    scans: int
    created_at: datetime
    updated_at: datetime
    acted_by: str | None
    acted_by_name: str | None
    acted_at: datetime | None
    reason: str | None
    case_id: str | None
    list_entry: str | None


class RecommendationPage(Strict):
    items: list[RecommendationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
