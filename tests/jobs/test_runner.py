"""The job runner reports every job on its row: running with progress, then a result or an error."""

import asyncio
from typing import Any

import pytest

from riskops.db import transaction
from riskops.jobs import service
from riskops.jobs.runner import JobRunner, Progress
from tests.conftest import Api


async def new_job(api: Api) -> str:
    async with transaction(api.runtime.engine) as connection:
        job = await service.create(connection, "test", "subject", {"n": 1}, "tester")
    return str(job["id"])


async def read(api: Api, job_id: str) -> dict[str, Any]:
    async with api.runtime.engine.connect() as connection:
        return await service.get(connection, job_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_job_runs_reports_progress_and_its_result(api: Api) -> None:
    runner = JobRunner(api.runtime.engine)
    job_id = await new_job(api)
    assert (await read(api, job_id))["status"] == "queued"
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def work(progress: Progress) -> dict[str, Any]:
        await progress(0.5)
        halfway.set()
        await go_on.wait()
        return {"answer": 42}

    await runner.run(job_id, work)
    await asyncio.wait_for(halfway.wait(), 5)
    running = await read(api, job_id)
    assert (running["status"], running["progress"]) == ("running", 0.5)
    assert running["started_at"] is not None and running["finished_at"] is None
    go_on.set()
    async with asyncio.timeout(5):
        while (done := await read(api, job_id))["status"] == "running":
            await asyncio.sleep(0.02)
    assert (done["status"], done["progress"], done["result"]) == ("succeeded", 1.0, {"answer": 42})
    await runner.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_failing_job_is_reported_failed_with_its_error(api: Api) -> None:
    runner = JobRunner(api.runtime.engine)
    job_id = await new_job(api)

    async def work(progress: Progress) -> dict[str, Any]:
        raise ValueError("no decisions in that window")

    await runner.run(job_id, work)
    async with asyncio.timeout(5):
        while (done := await read(api, job_id))["status"] in {"queued", "running"}:
            await asyncio.sleep(0.02)
    assert done["status"] == "failed"
    assert done["error"] == "ValueError: no decisions in that window"
    await runner.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_stop_fails_the_job_it_interrupts(api: Api) -> None:
    runner = JobRunner(api.runtime.engine)
    job_id = await new_job(api)
    started = asyncio.Event()

    async def work(progress: Progress) -> dict[str, Any]:
        started.set()
        await asyncio.Event().wait()  # never ends by itself
        return {}

    await runner.run(job_id, work)
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(deadline=0.1)
    done = await read(api, job_id)
    assert (done["status"], done["error"]) == ("failed", "stopped with the process")
