"""Request shapes of investigations; ids are validated here, at the boundary."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskops.entities.repository import EntityKind
from riskops.investigations.tools.recommend import Action

ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"
Id = Annotated[str, Field(pattern=ULID, description="A 26-character ULID")]


class Mode(StrEnum):
    QUICK = "quick"  # context, patterns, recommendation
    DEEP = "deep"  # and similar past payments


class EntityRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EntityKind
    id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]


class InvestigationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: Id | None = None
    case_id: Id | None = None
    entity: EntityRef | None = None
    mode: Mode = Mode.QUICK
    include_rule_draft_preview: bool = False

    @model_validator(mode="after")
    def one_subject(self) -> Self:
        given = [n for n in ("transaction_id", "case_id", "entity") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of transaction_id, case_id or entity"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


# Response shapes (the OpenAPI document; handlers build these documents from stored rows).
class EvidenceOut(BaseModel):
    id: str = Field(description="E<n> from the context, S<n> from similar payments")
    kind: str
    summary: str
    data: dict[str, Any]


class PatternOut(BaseModel):
    name: str
    strength: float = Field(ge=0, le=1)
    entity: dict[str, str]
    explanation: str
    evidence_ids: list[str]
    facts: dict[str, Any]


class RecommendationOut(BaseModel):
    action: Action
    confidence: float
    evidence_ids: list[str]
    explanation: str
    entity: dict[str, str] | None
    constraints: list[str] = Field(description="Policy constraints that changed the answer")


class NarrativeOut(BaseModel):
    narrator: str
    text: str = Field(description="Every sentence cites evidence ids, e.g. [E3]")


class RuleDraftPreview(BaseModel):
    rule: dict[str, Any]
    valid: bool
    problems: list[dict[str, Any]]
    backtest: None = Field(description="Not computed here: backtest the draft once created")


class SimilarCasesOut(BaseModel):
    neighbours: list[dict[str, Any]]
    labelled: int
    fraud: int
    fraud_share: float | None
    fraud_majority: bool


class StepOut(BaseModel):
    name: str
    inputs: dict[str, Any]
    actor: str
    started_at: datetime
    outputs: dict[str, Any] | None
    duration_ms: float | None
    error: dict[str, Any] | None


class InvestigationOut(BaseModel):
    id: str
    subject: dict[str, Any]
    transaction_id: str
    case_id: str | None
    mode: Mode
    actor: str
    actor_name: str
    created_at: datetime
    duration_ms: float
    evidence: list[EvidenceOut]
    patterns: list[PatternOut]
    similar_cases: SimilarCasesOut | None
    recommendation: RecommendationOut | None
    narrative: NarrativeOut | None
    rule_draft_preview: RuleDraftPreview | None
    plan: list[str]
    trace: list[StepOut]


class InvestigationPage(BaseModel):
    items: list[InvestigationOut]
