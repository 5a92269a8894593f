"""Micro-batching: concurrent callers' database work shares one round trip.

Each caller awaits its own result; a worker takes everything queued while the previous batch
ran and handles it at once. On SQLite every statement is a hop to the driver's thread, and on
PostgreSQL every commit is a flush, so sharing them is what lets the decision path scale.
"""

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from riskops.core.background import finish
from riskops.core.errors import Unavailable

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(ABC, Generic[Item, Result]):
    def __init__(self, batch_max: int, workers: int = 1) -> None:
        self._batch_max = batch_max
        self._workers = workers
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    @abstractmethod
    async def run(self, items: list[Item]) -> list[Result | BaseException]:
        """Handle a batch; one result (or the error for that item) per item, in order."""

    def start(self) -> None:
        name = type(self).__name__
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{name}-{i}") for i in range(self._workers)
        ]

    async def stop(self, drain_seconds: float = 30.0) -> None:
        """Finish what is already queued, then stop.

        Queued callers have not been answered yet, so nothing acknowledged is lost either way;
        the bound only keeps a stuck database from hanging the shutdown forever.
        """
        tasks, self._tasks = self._tasks, []
        if tasks:
            try:
                async with asyncio.timeout(drain_seconds):
                    await self._queue.join()
            except TimeoutError:
                log.error("%s: gave up draining after %.0fs", type(self).__name__, drain_seconds)
        # Idle workers wait on the queue: nothing is lost by cancelling them now.
        await finish(tasks, deadline=0)
        while not self._queue.empty():  # only after a failed drain: answer, never strand
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(Unavailable("the service is shutting down; retry"))

    async def submit(self, item: Item) -> Result:
        if not self._tasks:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self.run([item for item, _ in batch])
            except Exception as error:
                results = [error] * len(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller gave up (cancelled)
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
