"""Queries of the jobs table."""

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.jobs.models import Job

jobs = table_of(Job)


async def insert_job(connection: AsyncConnection, row: dict[str, Any]) -> None:
    await connection.execute(insert(jobs).values(**row))


async def get_job(connection: AsyncConnection, job_id: str) -> dict[str, Any] | None:
    row = (await connection.execute(select(jobs).where(jobs.c.id == job_id))).mappings().first()
    return dict(row) if row else None


async def update_job(connection: AsyncConnection, job_id: str, values: dict[str, Any]) -> None:
    await connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
