"""API shapes of similar cases: the nearest-records query and its answer."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskops.core.outcome import Outcome
from riskops.similarity.index import NeighbourFilter

K_DEFAULT = 10


class RecordOutcome(StrEnum):
    """A record's outcome: its decision's (transactions) or its predicted label (predictions)."""

    APPROVE = Outcome.APPROVE.value
    REVIEW = Outcome.REVIEW.value
    DECLINE = Outcome.DECLINE.value
    FRAUD = "fraud"
    LEGIT = "legit"


Label = Literal["fraud", "legit"]


class NeighbourFilters(BaseModel):
    """Restrict the neighbours: when, what the decision was, the known truth, which model."""

    model_config = ConfigDict(extra="forbid")

    created_from: datetime | None = Field(default=None, description="Inclusive, with offset")
    created_to: datetime | None = Field(default=None, description="Exclusive, with offset")
    outcome: RecordOutcome | None = Field(
        default=None, description="The decision (transactions) or predicted label (predictions)"
    )
    label: Label | None = Field(
        default=None, description="The known truth: labelled fraud, or labelled genuine"
    )
    model: str | None = Field(default=None, max_length=128, description="Scored by this model")

    @model_validator(mode="after")
    def _aware(self) -> "NeighbourFilters":
        for at in (self.created_from, self.created_to):
            if at is not None and at.tzinfo is None:
                raise ValueError("times need a timezone offset, e.g. 2026-01-31T12:00:00Z")
        return self

    def to_filter(self) -> NeighbourFilter:
        return NeighbourFilter(
            self.created_from, self.created_to, self.outcome, self.model, self.label
        )


class NearestIn(NeighbourFilters):
    record_id: str | None = Field(default=None, min_length=1, max_length=64)
    features: dict[str, Any] | None = Field(
        default=None, description="A feature payload (the features of GET /v1/metadata)"
    )
    k: int = Field(default=K_DEFAULT, ge=1, le=1000, description="Bounded by the server too")

    @model_validator(mode="after")
    def _one_query(self) -> "NearestIn":
        if (self.record_id is None) == (self.features is None):
            raise ValueError("give exactly one of record_id or features")
        return self


class NeighbourOut(BaseModel):
    id: str
    distance: float = Field(description="Cosine distance to the query, 0 = alike")
    kind: str = Field(description="decision (a transaction) or prediction")
    model_name: str | None
    score: float
    outcome: str = Field(description="approve/review/decline, or a prediction's fraud/legit")
    label: str | None = Field(description="Known truth: fraud, legit, or null (unlabelled)")
    created_at: datetime


class NearestOut(BaseModel):
    embedding: str = Field(description="name/version of the embedding searched")
    items: list[NeighbourOut] = Field(description="Nearest first")


class EmbeddingOut(BaseModel):
    name: str
    version: str
    dim: int
    vector: list[float] | None = Field(description="null while the record awaits embedding")
