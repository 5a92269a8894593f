"""HTTP for background jobs: how far one has come, and its result."""

from typing import Any

from fastapi import APIRouter

from riskops.api.deps import ReadConnection, Reader
from riskops.api.responses import ERRORS
from riskops.jobs import service
from riskops.jobs.schemas import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut, responses=ERRORS)
async def get_job(job_id: str, connection: ReadConnection, _: Reader) -> dict[str, Any]:
    """A job's status (queued, running, succeeded, failed), progress 0..1, result or error."""
    return await service.get(connection, job_id)
