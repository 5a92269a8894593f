"""The async engine, tuned per dialect, and the one way code outside a request commits."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    options: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, **options)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, **options)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Also applied to the decision path's own connections (db/sqlite_direct.py).
    # WAL lets readers run beside the single writer. FULL sync makes every commit durable
    # before a request is answered; group commit keeps that to one fsync per batch.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction: committed when the block ends, rolled back if it raises.

    Background work and commands use this; requests get theirs from the API's
    `WriteConnection` dependency. Services take the connection and never begin or commit.
    """
    async with engine.begin() as connection:
        yield connection
