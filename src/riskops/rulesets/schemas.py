"""API shapes of ruleset versions, drafts and backtests."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from riskops.api.params import IsoDateTime
from riskops.rulesets.content import DraftAction

RULE_EXAMPLE = {
    "id": "big_amount",
    "name": "Large payment",
    "description": "Payments above 220.00 go to review",
    "expression": "amount_minor > 22000",
    "action": DraftAction.REVIEW.value,
    "reason_code": "LARGE_AMOUNT",
    "severity": "medium",
    "mode": "active",
}
# Rules arrive as plain objects and are validated as a whole ruleset, so one 422 can name
# every rule id and problem at once (a field-by-field schema would stop at the first).
Rules = list[dict[str, Any]]


# Versions are numbered from 1 in an INTEGER column: anything else cannot name one.
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Rule(BaseModel):
    id: str
    name: str
    description: str
    expression: str = Field(description="CEL over payment fields and features; a bool")
    action: DraftAction
    reason_code: str
    severity: Literal["low", "medium", "high", "critical"]
    mode: Literal["active", "shadow"] = Field(
        description="shadow: evaluated and recorded, never changes an outcome"
    )


class VersionSummary(BaseModel):
    version: int
    checksum: str
    comment: str
    author: str = Field(description="API key id ('system' for the imported version 1)")
    author_name: str
    approver: str | None
    approver_name: str | None
    draft_id: str | None
    status: Literal["active", "superseded"]
    created_at: datetime
    activated_at: datetime | None
    rule_count: int


class Version(VersionSummary):
    rules: list[Rule]


class VersionList(BaseModel):
    items: list[VersionSummary]


class DraftCreate(BaseModel):
    """A whole candidate ruleset, or `from_version` to roll back to an earlier version's rules."""

    base_version: VersionNumber | None = Field(
        default=None, description="Default: the active version"
    )
    rules: Rules | None = Field(default=None, examples=[[RULE_EXAMPLE]])
    from_version: VersionNumber | None = None
    comment: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_source(self) -> "DraftCreate":
        if (self.rules is None) == (self.from_version is None):
            raise ValueError("give either `rules` (a whole ruleset) or `from_version`")
        return self


class DraftUpdate(BaseModel):
    base_version: VersionNumber | None = None
    rules: Rules
    comment: str | None = Field(default=None, max_length=2000)


class RuleChange(BaseModel):
    id: str
    changes: dict[str, dict[str, Any]] = Field(description="field: {before, after}")


class Diff(BaseModel):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[RuleChange]


class Draft(BaseModel):
    id: str
    base_version: int
    rules: list[Rule]
    comment: str
    author: str
    author_name: str
    status: Literal["draft", "pending_approval", "approved", "rejected"]
    diff: Diff
    backtest: dict[str, Any] | None
    reviewer: str | None
    reviewer_name: str | None
    reason: str | None
    version: int | None = Field(description="The version an approval made")
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class DraftList(BaseModel):
    items: list[Draft]


class Rejection(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class BacktestRequest(BaseModel):
    start: IsoDateTime = Field(alias="from")
    end: IsoDateTime = Field(alias="to")


class JobAccepted(BaseModel):
    job_id: str


class ValidationRequest(BaseModel):
    rules: Rules


class ValidationResult(BaseModel):
    valid: bool
    errors: list[dict[str, Any]] = Field(description="rule_id, field, reason")
