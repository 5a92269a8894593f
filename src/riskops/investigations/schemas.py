"""Request shapes of investigations; ids are validated here, at the boundary."""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskops.entities.repository import EntityKind

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
