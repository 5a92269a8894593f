"""Jobs as rows: create one in the caller's transaction, read it back, report it as it runs."""

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.jobs import repository


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobNotFound(NotFound):
    code = "job_not_found"


async def create(
    connection: AsyncConnection, kind: str, subject: str, params: dict[str, Any], created_by: str
) -> dict[str, Any]:
    row = {
        "id": new_id(),
        "kind": kind,
        "subject": subject,
        "status": JobStatus.QUEUED.value,
        "progress": 0.0,
        "params": params,
        "result": None,
        "error": None,
        "created_by": created_by,
        "created_at": utcnow(),
        "started_at": None,
        "finished_at": None,
    }
    await repository.insert_job(connection, row)
    return row


async def get(connection: AsyncConnection, job_id: str) -> dict[str, Any]:
    row = await repository.get_job(connection, job_id)
    if row is None:
        raise JobNotFound(f"job {job_id} does not exist", {"job_id": job_id})
    return row


async def started(connection: AsyncConnection, job_id: str) -> None:
    values = {"status": JobStatus.RUNNING.value, "started_at": utcnow()}
    await repository.update_job(connection, job_id, values)


async def progressed(connection: AsyncConnection, job_id: str, progress: float) -> None:
    await repository.update_job(connection, job_id, {"progress": min(max(progress, 0.0), 1.0)})


async def succeeded(connection: AsyncConnection, job_id: str, result: dict[str, Any]) -> None:
    values = {
        "status": JobStatus.SUCCEEDED.value,
        "progress": 1.0,
        "result": result,
        "finished_at": utcnow(),
    }
    await repository.update_job(connection, job_id, values)


async def failed(connection: AsyncConnection, job_id: str, error: str) -> None:
    values = {"status": JobStatus.FAILED.value, "error": error[:2000], "finished_at": utcnow()}
    await repository.update_job(connection, job_id, values)
