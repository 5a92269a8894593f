"""Keeps this process's lists current: a poller on the one-row `lists_version` counter.

Every list change bumps the counter in its own transaction, so each API process, on SQLite
or on PostgreSQL with many processes, sees a committed change at its next poll (every
second by default: changes apply within two seconds). Entries also stop counting when they
expire, with no change to poll for, so the snapshot is rebuilt at the next expiry too.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background
from riskops.db.types import utcnow
from riskops.lists import service
from riskops.rules.lists import ListSnapshot, ListSource

log = logging.getLogger(__name__)


class ListPoller:
    def __init__(self, engine: AsyncEngine, interval: float = 1.0) -> None:
        self.source = ListSource()  # the shipped lists, empty, until the first refresh
        self._engine = engine
        self._interval = interval
        self._background = Background("lists")
        self._next_expiry: datetime | None = None

    async def refresh(self) -> bool:
        """Reload if the lists changed (or an entry expired); True when it reloaded."""
        async with self._engine.connect() as connection:
            version = await service.version(connection)
            expired = self._next_expiry is not None and utcnow() >= self._next_expiry
            if version == self.source.current.version and not expired:
                return False
            lists, version, next_expiry = await service.live_lists(connection)
        # Indexing 100,000 networks takes a while: never on the loop that serves decisions.
        snapshot = await asyncio.to_thread(ListSnapshot.build, lists, version)
        self.source.replace(snapshot)
        self._next_expiry = next_expiry
        return True

    def start(self) -> None:
        self._background.spawn(self._run(), "poller")

    async def stop(self, deadline: float = 5.0) -> list[str]:
        return await self._background.stop(deadline)

    async def _run(self) -> None:
        while not self._background.stopping.is_set():
            try:
                await self.refresh()
            except Exception:  # the database may be briefly away: keep the last snapshot
                log.exception("could not refresh the lists; keeping the last ones")
            await self._background.sleep(self._interval)
