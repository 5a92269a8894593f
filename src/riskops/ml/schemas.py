"""API shapes of the models package: predict, metadata, records, models and drift."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskops.similarity.schemas import EmbeddingOut


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(
        description="`name` (its champion), `name@alias` or `name:version`", examples=["fraud"]
    )
    features: dict[str, Any] = Field(
        description="Every feature of the model's schema (GET /v1/metadata), each of its type: "
        "numbers, integers, true/false, or one of a category's values; null where it is nullable"
    )


class ExplanationOut(BaseModel):
    feature: str
    value: float | str | bool | None = Field(description="As sent (a category is its text)")
    contribution: float
    description: str


class PredictOut(BaseModel):
    record_id: str
    model_name: str
    model_version: str
    score: float
    label: str = Field(description="fraud when the score reaches the review threshold, else legit")
    explanations: list[ExplanationOut]


class FeatureField(BaseModel):
    name: str
    type: Literal["number", "integer", "boolean", "category"] = Field(examples=["number"])
    description: str
    nullable: bool = Field(description="null is accepted (training saw missing values)")
    minimum: float | None = Field(description="Smallest value seen in training (or declared)")
    maximum: float | None = Field(description="Largest value seen in training (or declared)")
    bounded: bool = Field(description="Values outside [minimum, maximum] are refused")
    categories: list[str] = Field(description="A category's allowed values (else empty)")
    typical: float | str | None = Field(
        description="A typical value: the training median, or the most frequent category"
    )


class ModelMetadata(BaseModel):
    name: str
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    features: list[FeatureField]


class ModelVersionOut(BaseModel):
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    run_id: str
    created_at_ms: int


class Metadata(BaseModel):
    models: list[ModelMetadata]


class RecordOut(BaseModel):
    id: str
    kind: str = Field(description="prediction (POST /v1/predict) or decision (a transaction)")
    model_name: str | None
    model_version: str | None
    score: float
    label: str
    created_at: datetime


class RecordDetail(RecordOut):
    features: dict[str, Any]
    explanations: list[dict[str, Any]]
    embedding: EmbeddingOut | None = Field(
        default=None, description="Only with `?include=embedding`"
    )


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class DriftReportOut(BaseModel):
    id: str
    model_name: str
    model_version: str
    window_start: datetime
    window_end: datetime
    rows: int
    score_psi: float | None
    max_psi: float | None
    max_psi_feature: str | None
    features_psi: dict[str, float]
    created_at: datetime


class DriftOut(BaseModel):
    model_name: str
    reports: list[DriftReportOut]


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64, examples=["3"])
    force: bool = Field(
        default=False, description="Promote even if a gate fails (audited as a forced promotion)"
    )


class GateCheckOut(BaseModel):
    name: str
    passed: bool
    observed: float | None
    threshold: float | None
    message: str


class PromotionOut(BaseModel):
    model_name: str
    champion: str
    forced: bool = Field(description="True when a failing gate was overridden")
    checks: list[GateCheckOut]


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64, examples=["3"])


class AliasOut(BaseModel):
    model_name: str
    alias: str
    version: str | None
    previous: str | None


class RollbackOut(BaseModel):
    model_name: str
    previous_champion: str | None = Field(description="The champion before the rollback")
    champion: str
