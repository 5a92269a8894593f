"""The decision path's own SQLite connections: one thread for the writer, a loop-thread reader."""

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from riskops.db.bulk import sqlite_transaction
from riskops.db.sqlite_direct import SqliteThread, open_sqlite, sqlite_path


def test_the_path_comes_from_the_url_and_memory_databases_are_refused(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") == str(tmp_path / "a.db")
    for url in ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"):
        with pytest.raises(ValueError, match="in-memory"):
            sqlite_path(url)


def test_connections_carry_the_engines_pragmas(tmp_path: Path) -> None:
    connection = open_sqlite(str(tmp_path / "p.db"), busy_timeout_ms=0)
    pragma = lambda name: connection.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL: durable before a request is answered
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 0  # asked for: a loop-thread reader never waits
    assert open_sqlite(str(tmp_path / "p.db")).execute("PRAGMA busy_timeout").fetchone()[0] > 0
    connection.close()


def _insert(*ids: int) -> Callable[[sqlite3.Connection], None]:
    def work(connection: sqlite3.Connection) -> None:
        rows = [(i,) for i in ids]
        sqlite_transaction(
            connection, lambda: connection.executemany("INSERT INTO t VALUES (?)", rows)
        )

    return work


async def test_work_runs_in_the_threads_connection_and_errors_reach_the_caller(
    tmp_path: Path,
) -> None:
    channel = SqliteThread(str(tmp_path / "t.db"), "test-writer")
    with pytest.raises(RuntimeError, match="start"):
        await channel.call(lambda c: None)
    channel.start()
    loop_thread = threading.get_ident()

    def create(connection: sqlite3.Connection) -> int:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        return threading.get_ident()

    assert await channel.call(create) != loop_thread
    with pytest.raises(sqlite3.IntegrityError):
        await channel.call(_insert(1, 1))
    # Concurrent calls are served in order on the one connection; the failed one left nothing.
    await asyncio.gather(*(channel.call(_insert(i)) for i in range(2, 12)))
    rows = await channel.call(lambda c: c.execute("SELECT id FROM t ORDER BY id").fetchall())
    assert [r[0] for r in rows] == list(range(2, 12))
    await channel.stop()
    await channel.stop()  # idempotent
    with pytest.raises(RuntimeError, match="start"):
        await channel.call(lambda c: None)


def test_a_commit_that_fails_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A deferred foreign key fails at COMMIT, which SQLite leaves open: on a connection with no
    pool to reset it, the next batch would otherwise never begin."""
    connection = open_sqlite(str(tmp_path / "c.db"))
    connection.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
        "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
    )
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_transaction(
            connection, lambda: connection.execute("INSERT INTO child VALUES (1, 9)")
        )
    assert not connection.in_transaction
    sqlite_transaction(connection, lambda: connection.execute("INSERT INTO parent VALUES (9)"))
    sqlite_transaction(connection, lambda: connection.execute("INSERT INTO child VALUES (1, 9)"))
    assert connection.execute("SELECT count(*) FROM child").fetchone()[0] == 1
    connection.close()
