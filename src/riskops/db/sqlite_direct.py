"""Dedicated SQLite connections for the decision path, outside SQLAlchemy's pool.

Through the pool, every lookup and every group commit paid a checkout, a trip to aiosqlite's
thread for the work and another for the rollback the pool issues when a connection comes back
(and the stages profile counted ~330 us of CPU for a lone lookup, ~800 us for a lone write).
Here the decision writer owns one connection in one thread of its own, so a batch is exactly
one hand-off; and the idempotency lookup reads through a connection of the event loop's own
thread: in WAL mode an indexed point read never waits for the writer, and costs less than
the hand-off it replaces. Both carry the engine's pragmas (WAL, FULL sync, busy timeout).
"""

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

from sqlalchemy.engine import URL, make_url

from riskops.db.engine import sqlite_pragmas

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
_STOP = None


def sqlite_path(url: str | URL) -> str:
    """The file an `sqlite+aiosqlite:///...` URL names, as sqlite3.connect takes it."""
    database = make_url(url).database
    if not database or database == ":memory:":
        # A memory database is private to its connection: a second one would see nothing.
        raise ValueError("the decision path needs a database file, not an in-memory SQLite")
    return database


def open_sqlite(path: str, *, busy_timeout_ms: int | None = None) -> sqlite3.Connection:
    """A plain sqlite3 connection with the engine's pragmas, transactions begun explicitly."""
    wait = 5.0 if busy_timeout_ms is None else busy_timeout_ms / 1000  # 5 s: sqlite3's default
    connection = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
    sqlite_pragmas(connection, None)
    if busy_timeout_ms is not None:  # the pragmas set the engine's; this one asked for its own
        connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return connection


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class SqliteThread:
    """One sqlite3 connection owned by one thread; `call(work)` runs `work(connection)` there.

    One queue put and one loop wake-up per call, nothing else: no pool, no reset on return.
    The connection opens on first use (in the thread), so a start never touches the disk.
    """

    def __init__(self, path: str, name: str = "sqlite") -> None:
        self._path = path
        self._name = name
        self._calls: SimpleQueue[tuple[asyncio.Future[Any], Work] | None] = SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A daemon: a process that never called stop() (a crashed test) must still exit.
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._thread is None:
            raise RuntimeError(f"{self._name}: start() was not called")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, work))
        return await future

    async def stop(self, deadline: float = 10.0) -> None:
        """Finish the calls already queued, close the connection, end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._calls.put(_STOP)
        await asyncio.to_thread(thread.join, deadline)
        if thread.is_alive():
            log.error("%s: the thread did not finish within %.0fs", self._name, deadline)

    def _serve(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while (call := self._calls.get()) is not _STOP:
                future, work = call
                try:
                    if connection is None:
                        connection = open_sqlite(self._path)
                    result = work(connection)
                except BaseException as error:  # handed to the caller, whatever it is
                    future.get_loop().call_soon_threadsafe(_fail, future, error)
                else:
                    future.get_loop().call_soon_threadsafe(_resolve, future, result)
        finally:
            if connection is not None:
                connection.close()
