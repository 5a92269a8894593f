"""API shape of a background job."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class JobOut(BaseModel):
    id: str
    kind: str
    subject: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
