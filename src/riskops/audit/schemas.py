"""API shapes of the administrative audit log."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from riskops.audit.service import AdminAction


class AuditEntry(BaseModel):
    id: str
    at: datetime
    actor: str = Field(description="The API key id, `cli:<os user>` or `system`")
    actor_name: str
    action: AdminAction
    target: str = Field(examples=["api_key:01J...", "model:fraud"])
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
