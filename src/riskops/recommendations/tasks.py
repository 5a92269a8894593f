"""The continuous scan in the worker: every interval, one scan (reads, then one write
transaction).

The first scan runs one interval after start (a process that just started has nothing new to
say); a failing scan is logged and retried on the next tick. Stopping is bounded like every
loop (core/background.py): a scan in flight is cancelled after the deadline, and its
transaction rolls back, so nothing is half-written.
"""

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background
from riskops.recommendations.candidates import ScanPolicy
from riskops.recommendations.scan import ScanResult, scan

log = logging.getLogger(__name__)
STOP_DEADLINE_SECONDS = 5.0


class RecommendationScanner:
    def __init__(self, engine: AsyncEngine, policy: ScanPolicy, interval: float) -> None:
        self.engine = engine
        self.policy = policy
        self.interval = interval
        self.scans = 0  # completed since start (status and tests)
        self._background: Background | None = None

    @property
    def running(self) -> bool:
        return self._background is not None and self._background.running

    def start(self) -> None:
        self._background = Background("recommendations")
        self._background.spawn(self._run(self._background), "scan")

    async def stop(self, deadline: float = STOP_DEADLINE_SECONDS) -> list[str]:
        background, self._background = self._background, None
        return await background.stop(deadline) if background is not None else []

    async def scan_once(self, now: datetime | None = None) -> ScanResult:
        result = await scan(self.engine, self.policy, now)
        self.scans += 1
        return result

    async def _run(self, background: Background) -> None:
        while not await background.sleep(self.interval):
            try:
                result = await self.scan_once()
                if result.created:
                    log.info("recommendation scan: %d new entries", len(result.created))
            except Exception as error:  # the next tick retries
                log.warning("recommendation scan failed: %s", error)
