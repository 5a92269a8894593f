"""Shapes of a label: the fraud outcome of one transaction, known later."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class LabelSource(StrEnum):
    CHARGEBACK = "chargeback"
    ANALYST = "analyst"
    SIMULATION = "simulation"
    BACKFILL = "backfill"


class LabelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(min_length=1, max_length=64)
    label: int = Field(ge=0, le=1, description="1 fraud, 0 genuine")
    source: LabelSource
    labelled_at: AwareDatetime = Field(description="When the outcome became known")


class LabelValue(StrEnum):
    FRAUD = "fraud"
    LEGITIMATE = "legitimate"


class LabelRequest(BaseModel):
    """What an analyst or a chargeback feed sends to label one transaction."""

    model_config = ConfigDict(extra="forbid")

    label: LabelValue
    source: LabelSource = LabelSource.ANALYST
    reason: str = Field(default="", max_length=2000)


class LabelOut(BaseModel):
    id: str
    label: LabelValue
    source: LabelSource
    labelled_at: AwareDatetime
