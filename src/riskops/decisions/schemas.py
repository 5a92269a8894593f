"""API shapes of decisions: the transaction with its decision, audit, pages and stats."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from riskops.decisions.policy import Basis, Outcome
from riskops.decisions.requests import CardOut


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleHitOut(Strict):
    rule_id: str
    action: str
    reason_code: str
    severity: str


class RuleErrorOut(Strict):
    rule_id: str
    error: str
    message: str


class ExplanationOut(Strict):
    feature: str
    value: float
    contribution: float
    description: str


class DecisionOut(Strict):
    status: Outcome
    basis: Basis = Field(description="rule: a rule action decided; score: the score thresholds did")
    score: float = Field(ge=0, le=1)
    score_source: str = Field(description="model, or rules while no model is registered")
    reason_codes: list[str]
    rule_hits: list[RuleHitOut]
    rule_errors: list[RuleErrorOut]
    explanations: list[ExplanationOut]
    ruleset_version: str
    model_name: str | None
    model_version: str | None
    note: str | None = Field(description="Plain words about how this decision was made")
    latency_ms: float = Field(description="Validation to decision, before the durable write")
    decided_at: datetime


class TransactionOut(Strict):
    id: str
    account_id: str
    amount_minor: int
    currency: str
    card: CardOut
    merchant_id: str
    merchant_category: str
    merchant_country: str
    channel: str
    device_id: str | None
    ip: str | None
    user_id: str | None
    occurred_at: datetime
    created_at: datetime
    decision: DecisionOut


class AuditOut(Strict):
    id: str
    transaction_id: str
    inputs_snapshot: dict[str, Any]
    rules_triggered: list[dict[str, Any]]
    latency_ms: float
    created_at: datetime


class TransactionDetail(TransactionOut):
    features: dict[str, float | int]
    audit: AuditOut


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
