"""Background embedding: every record gets a vector soon after it is written, off the hot path.

A poll, not a consumer of `riskops.risk.assessed.v1`: predictions (`POST /v1/predict`) have
no event, and one loop over "records lacking the active embedding" covers both kinds, a
consumer that was off, and a new version (the same code as `riskops records reembed`).
The decision path itself does nothing more than before: its transaction never waits on this.
"""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background
from riskops.db import transaction
from riskops.similarity.index import EmbeddingId
from riskops.similarity.service import Similarity

log = logging.getLogger(__name__)
BATCH = 500
# Decisions are committed in groups, slightly out of created_at order: each poll starts this
# far behind the last record it embedded (already embedded ones are skipped by the query).
LATE_COMMITS = timedelta(seconds=30)
STOP_DEADLINE_SECONDS = 5.0


class EmbeddingTasks:
    def __init__(self, engine: AsyncEngine, similarity: Similarity, interval: float) -> None:
        self.engine = engine
        self.similarity = similarity
        self.interval = interval
        self.embedded = 0  # since start (status and tests)
        self._position: tuple[datetime, str] | None = None
        self._background: Background | None = None

    def start(self) -> None:
        self._background = Background("similarity")
        self._background.spawn(self._run(self._background), "embed")

    async def stop(self, deadline: float = STOP_DEADLINE_SECONDS) -> list[str]:
        background, self._background = self._background, None
        stuck = await background.stop(deadline) if background is not None else []
        self.similarity.index.close()  # the embedded index keeps its file for the next start
        return stuck

    async def catch_up(self, embedding: EmbeddingId | None = None) -> int:
        """Embed every record that lacks the active embedding now; returns how many."""
        total = 0
        start = self._position
        if start is not None:
            start = (start[0] - LATE_COMMITS, "")
        while True:
            async with transaction(self.engine) as connection:
                result = await self.similarity.embed_batch(connection, start, BATCH, embedding)
            if result.embedded == 0:
                break
            total += result.embedded
            start = self._position = result.last
        self.embedded += total
        return total

    async def _run(self, background: Background) -> None:
        while not background.stopping.is_set():
            started = time.perf_counter()
            try:
                count = await self.catch_up()
                if count:
                    log.debug("embedded %d records in %.3fs", count, time.perf_counter() - started)
            except Exception as error:  # keeps polling: the next round retries the same rows
                log.warning("embedding records failed: %s", error)
            if await background.sleep(self.interval):
                return
