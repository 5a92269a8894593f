"""API shapes of cases: the queue's items, a case in full, and what analysts send."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CaseStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class DispositionKind(StrEnum):
    FRAUD_CONFIRMED = "fraud_confirmed"
    LEGITIMATE = "legitimate"
    INCONCLUSIVE = "inconclusive"


# What each disposition teaches: a fraud label (1), a genuine one (0), or nothing.
LABEL_OF: dict[DispositionKind, int | None] = {
    DispositionKind.FRAUD_CONFIRMED: 1,
    DispositionKind.LEGITIMATE: 0,
    DispositionKind.INCONCLUSIVE: None,
}


class CaseSort(StrEnum):
    PRIORITY = "priority"  # score x amount, highest first
    AGE = "age"  # oldest first
    SLA = "sla"  # due soonest first: overdue cases lead


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseCreate(Strict):
    transaction_id: str = Field(min_length=1, max_length=26)
    reason: str = Field(default="", max_length=2000)


class AssignRequest(Strict):
    assignee: str = Field(
        min_length=1, max_length=64, description='An API key id or user id, or "me"'
    )


class NoteCreate(Strict):
    text: str = Field(min_length=1, max_length=10_000)


class DispositionCreate(Strict):
    disposition: DispositionKind
    reason: str = Field(min_length=1, max_length=2000)


class CaseOut(Strict):
    id: str
    status: CaseStatus
    source: str
    priority: float
    score: float
    assignee: str | None
    reason_codes: list[str]
    amount_minor: int
    currency: str
    country: str
    channel: str
    card_token: str
    transaction_id: str
    disposition: DispositionKind | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sla_due_at: datetime
    overdue: bool


class CasePage(Strict):
    items: list[CaseOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class NoteOut(Strict):
    id: str
    author: str
    author_name: str
    text: str
    created_at: datetime


class DispositionOut(Strict):
    id: str
    disposition: DispositionKind
    reason: str
    actor: str
    actor_name: str
    labels: list[str]
    created_at: datetime


class CaseDetail(CaseOut):
    transactions: list[dict[str, Any]] = Field(description="The case's payments with decisions")
    notes: list[NoteOut]
    dispositions: list[DispositionOut]
    history: list[dict[str, Any]] = Field(description="Audit entries of this case, oldest first")
    entities: dict[str, Any] = Field(
        description="Recent payments of the opening payment's card, account, device and "
        "merchant, each with the case it belongs to"
    )
