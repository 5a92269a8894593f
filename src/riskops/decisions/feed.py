"""In-process pub/sub of stored decisions: the console's live feed listens here.

Publishing never waits: each subscriber has a small bounded queue, and a subscriber that
falls behind loses the oldest decisions rather than slowing the hot path. One process sees
its own decisions only (several API replicas each feed their own viewers).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

QUEUE_SIZE = 256


class DecisionFeed:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, document: dict[str, Any]) -> None:
        """Hand a stored decision to every subscriber; O(subscribers), never blocks."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a live view wants the newest
            queue.put_nowait(document)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def listen(self, heartbeat: float) -> AsyncIterator[dict[str, Any] | None]:
        """Decisions as they are stored; None after `heartbeat` seconds of quiet (a heartbeat)."""
        with self.subscribe() as queue:
            while True:
                try:
                    async with asyncio.timeout(heartbeat):
                        document = await queue.get()
                except TimeoutError:
                    document = None
                yield document
