"""The idempotency lookup on SQLite: read at once in the loop's thread, never waiting on a lock."""

import sqlite3
import time
from pathlib import Path

import httpx

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.decisions.lookup import _ONE_KEY, LookupKey
from riskops.runtime import Runtime
from tests.conftest import create_keys, make_settings
from tests.payments import payment


async def test_the_read_sees_what_is_committed_and_never_waits_for_a_writer(
    tmp_path: Path,
) -> None:
    """The lookup reads in the event loop's thread, so it must never wait on a lock: in WAL
    mode a read does not wait for a writer, and it sees exactly what is committed."""
    database = tmp_path / "riskops.db"
    app = create_app(make_settings(tmp_path, f"sqlite+aiosqlite:///{database}"))
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        headers = {"Authorization": f"Bearer {keys[Role.SERVICE]}", "Idempotency-Key": "k-1"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            stored = (await client.post("/v1/transactions", json=payment(), headers=headers)).json()
        key = LookupKey("acct-1", "k-1")
        direct = runtime.lookup.read_now(key)  # the read a decision makes, in this thread
        assert direct.stored is not None and direct.stored.transaction_id == stored["id"]
        assert direct.currency == "EUR"
        assert runtime.lookup.read_now(LookupKey("acct-1", "k-2")).stored is None

        # Another writer (another process's decision writer) holds a write transaction open:
        # in WAL mode the read neither waits for it nor sees its uncommitted rows.
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO accounts (id, currency, created_at) VALUES ('acct-2', 'USD', '2026-01-01')"
        )
        started = time.perf_counter()
        assert runtime.lookup.read_now(LookupKey("acct-2", "k-1")).currency is None
        assert time.perf_counter() - started < 0.1  # answered at once, never a busy wait
        other.execute("COMMIT")
        other.close()
        assert runtime.lookup.read_now(LookupKey("acct-2", "k-1")).currency == "USD"
        # Both joins are index searches, whatever the tables hold: the read stays a point read.
        with sqlite3.connect(database) as plain:
            plan = [row[3] for row in plain.execute(f"EXPLAIN QUERY PLAN {_ONE_KEY}", ("a", "k"))]
        assert any(step.startswith("SEARCH a USING") for step in plan), plan
        assert any(step.startswith("SEARCH t USING INDEX") for step in plan), plan
        assert not any(step.startswith(("SCAN a", "SCAN t")) for step in plan), plan
