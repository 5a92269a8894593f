"""API shapes of decisions: the transaction with its decision, audit, pages and stats.

The data of `riskops.transaction.created.v1` and `riskops.risk.assessed.v1` are defined here
too, as the API's own shapes: the transaction without its decision, and the decision with what
analytics aggregates it by. `riskops.contracts` generates their JSON Schemas (docs/events/).
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from riskops.core.ids import ULID_PATTERN
from riskops.core.payment import Channel
from riskops.decisions.policy import Basis, Outcome
from riskops.decisions.requests import CardOut
from riskops.decisions.scoring import ScoreSource
from riskops.rules import RuleAction, RuleErrorType, Severity

Ulid = Annotated[str, Field(pattern=ULID_PATTERN)]
Text = Annotated[str, Field(min_length=1)]
Amount = Annotated[int, Field(gt=0, description="Minor units of `currency` (cents)")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleHitOut(Strict):
    rule_id: str
    action: RuleAction
    reason_code: str
    severity: Severity


class RuleErrorOut(Strict):
    rule_id: str
    error: RuleErrorType
    message: str


class ExplanationOut(Strict):
    feature: str
    value: float
    contribution: float
    description: str


class DecisionOut(Strict):
    status: Outcome
    basis: Basis = Field(
        description="What decided: score (the thresholds), rule (a review or decline rule "
        "raised the outcome to its own), override (an allow-list rule approved)"
    )
    score: float = Field(ge=0, le=1)
    score_source: ScoreSource = Field(description="model, or rules while no model is registered")
    reason_codes: list[str]
    rule_hits: list[RuleHitOut]
    rule_errors: list[RuleErrorOut]
    shadow_hits: list[RuleHitOut] = Field(
        default_factory=list,
        description="Hits of shadow-mode rules: recorded, never part of outcome or score",
    )
    explanations: list[ExplanationOut]
    ruleset_version: Text
    model_name: str | None
    model_version: str | None
    note: str | None = Field(description="Plain words about how this decision was made")
    latency_ms: float = Field(ge=0, description="Validation to decision, before the durable write")
    decided_at: datetime


class TransactionCreatedData(Strict):
    """A stored payment without its decision: the data of `riskops.transaction.created.v1`."""

    id: Ulid
    account_id: Text
    amount_minor: Amount
    currency: Currency
    card: CardOut
    merchant_id: Text
    merchant_category: str = Field(pattern=r"^[0-9]{4}$")
    merchant_country: Country
    channel: Channel
    device_id: str | None
    ip: str | None
    user_id: str | None
    occurred_at: datetime
    created_at: datetime


class TransactionOut(TransactionCreatedData):
    decision: DecisionOut


class RiskAssessedData(DecisionOut):
    """A decision and what analytics aggregates it by: the data of `riskops.risk.assessed.v1`."""

    transaction_id: Ulid
    account_id: Text
    amount_minor: Amount
    currency: Currency
    channel: Channel
    merchant_country: Country


class AuditOut(Strict):
    id: str
    transaction_id: str
    inputs_snapshot: dict[str, Any]
    rules_triggered: list[dict[str, Any]]
    latency_ms: float
    created_at: datetime


class LabelItem(Strict):
    id: str
    label: str = Field(description="fraud or legitimate")
    source: str
    labelled_at: datetime


class TransactionDetail(TransactionOut):
    features: dict[str, float | int]
    audit: AuditOut
    labels: list[LabelItem] = Field(description="Fraud outcomes known so far, oldest first")


class TransactionPage(Strict):
    items: list[TransactionOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class Stats(Strict):
    total: int
    approved: int
    review: int
    declined: int
    approval_rate: float | None
    avg_amount: float | None = Field(description="Mean amount in minor units, all currencies")
    p95_latency_ms: float | None
