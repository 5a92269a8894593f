"""Runs jobs as bounded background tasks in this process, reporting through the jobs table.

Today jobs run in the API process that accepted them (at most `concurrency` at once; a stop
fails whatever is left; a crashed process leaves its rows 'running', which a worker's claim
with a heartbeat would fix). The row is the contract: the worker process (`riskops worker`)
can claim queued rows instead, and `GET /v1/jobs/{id}` does not change.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background
from riskops.db import transaction
from riskops.jobs import service

log = logging.getLogger(__name__)

Progress = Callable[[float], Awaitable[None]]
Work = Callable[[Progress], Awaitable[dict[str, Any]]]


class JobRunner:
    def __init__(self, engine: AsyncEngine, concurrency: int = 1) -> None:
        self._engine = engine
        self._slots = asyncio.Semaphore(concurrency)  # backtests are CPU-bound: one at a time
        self._background = Background("jobs")

    async def run(self, job_id: str, work: Work) -> None:
        """Start `work` for the (already committed) job row `job_id`; returns at once.

        async so a response's background task calls it on the event loop, not in a thread."""
        self._background.spawn(self._run(job_id, work), name=job_id)

    async def _run(self, job_id: str, work: Work) -> None:
        async with self._slots:
            if self._background.stopping.is_set():
                await self._write(service.failed, job_id, "stopped with the process before it ran")
                return
            await self._write(service.started, job_id)

            async def progress(value: float) -> None:
                await self._write(service.progressed, job_id, value)

            try:
                result = await work(progress)
            except asyncio.CancelledError:
                await asyncio.shield(
                    self._write(service.failed, job_id, "stopped with the process")
                )
                raise
            except Exception as error:  # a failed job is reported on its row, not lost
                log.exception("job %s failed", job_id)
                await self._write(service.failed, job_id, f"{type(error).__name__}: {error}")
                return
            await self._write(service.succeeded, job_id, result)

    async def _write(self, step: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with transaction(self._engine) as connection:
            await step(connection, *args)

    async def stop(self, deadline: float = 5.0) -> None:
        await self._background.stop(deadline)
