"""API shapes of lists and entries."""

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from riskops.rules.lists import ListKind, ListPurpose

_TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


class ListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    kind: ListKind
    purpose: ListPurpose
    description: Annotated[str, Field(max_length=500, pattern=_TEXT)] = ""


class ValueListOut(BaseModel):
    name: str
    kind: ListKind
    purpose: ListPurpose
    description: str
    entries: int  # live (unexpired) entries
    created_by: str
    created_at: datetime


class EntriesAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Card lists take card numbers (stored as tokens only); IP lists addresses or CIDR.
    values: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=255, pattern=_TEXT)]],
        Field(min_length=1, max_length=10_000),
    ]
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=_TEXT)]
    expires_at: AwareDatetime | None = None


class EntriesAdded(BaseModel):
    list_name: str = Field(alias="list")
    added: list[str]  # stored values: a card's token, an IP's network
    renewed: list[str]  # already present: reason and expiry replaced


class EntryOut(BaseModel):
    value: str
    reason: str
    expires_at: datetime | None
    created_by: str
    created_at: datetime


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None
