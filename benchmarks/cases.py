"""Review-queue benchmark: the queue and a case's detail with 100,000 open cases among
1,000,000 stored payments, on SQLite and PostgreSQL (issue 12 asks p95 <= 50 ms for both).

Payments are written straight into the tables (the decision path is benchmarked elsewhere);
every tenth one opens a case. Requests go through the real app in process (ASGI, no socket),
so the figures are the server's own time: the queue's first page by priority, a filtered page
by age, and case details picked at random.

    .venv/bin/python benchmarks/cases.py [--transactions 1000000] [--cases 100000]
"""

import argparse
import asyncio
import contextlib
import json
import random
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from benchmarks.backtest import START, store, stored_decision
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from tests.conftest import fresh_postgres_database

from riskops.app import create_app
from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.cases.models import Case, CaseTransaction
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "cases.json"
REQUESTS = (
    "queue_by_priority",
    "queue_filtered_by_age",
    "case_detail",
    "console_queue_page",
    "console_case_page",
)
COUNTRIES = ("DE", "FR", "NL", "GB", "ES")
console = Console()


def payments(count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any], None]]:
    rng = random.Random(7)
    for index in range(count):
        occurred = START + timedelta(seconds=index * 2)
        txn, decision, _ = stored_decision(
            index, occurred, rng.randint(100, 200_000), {}, None,
            account=f"acct-{index % 1000}", merchant=f"m-{index % 2000}",
            status="review" if index % 10 == 0 else "approve", score=rng.random(),
        )  # fmt: skip
        txn["merchant_country"] = COUNTRIES[index % len(COUNTRIES)]
        yield txn, decision, None


async def open_cases(url: str, transactions: int, cases: int) -> list[str]:
    """One open case for every tenth payment (the review ones), in batches."""
    engine = create_engine(url)
    rng = random.Random(11)
    ids: list[str] = []
    try:
        step = max(1, transactions // cases)
        batch: list[tuple[dict[str, Any], dict[str, Any]]] = []

        async def flush() -> None:
            async with transaction(engine) as connection:
                await connection.execute(insert(table_of(Case)), [b[0] for b in batch])
                await connection.execute(insert(table_of(CaseTransaction)), [b[1] for b in batch])

        for number, index in enumerate(range(0, step * cases, step)):
            opened = START + timedelta(seconds=index * 2)
            case_id, amount, score = f"C{number:025d}", rng.randint(100, 200_000), rng.random()
            batch.append((
                {
                    "id": case_id, "status": "open", "source": "review",
                    "priority": max(score, 0.1) * amount, "score": score, "assignee": None,
                    "reason_codes": ["LARGE_AMOUNT"], "amount_minor": amount, "currency": "EUR",
                    "country": COUNTRIES[index % len(COUNTRIES)], "channel": "pos",
                    "card_token": f"card-{index % 5000}", "transaction_id": f"T{index:025d}",
                    "disposition": None, "opened_at": opened, "updated_at": opened,
                    "closed_at": None, "sla_due_at": opened + timedelta(hours=4),
                },
                {"case_id": case_id, "transaction_id": f"T{index:025d}", "added_at": opened},
            ))  # fmt: skip
            ids.append(case_id)
            if len(batch) == 5000:
                await flush()
                batch = []
        if batch:
            await flush()
    finally:
        await engine.dispose()
    return ids


@contextlib.asynccontextmanager
async def database(engine_name: str, work: Path) -> AsyncIterator[str]:
    if engine_name == "sqlite":
        yield f"sqlite+aiosqlite:///{work / 'riskops.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, "no CSRF token on the sign-in page"
    answer = await client.post("/login", data={"api_key": key, "csrf_token": found.group(1)})
    assert answer.status_code == 303, answer.text[:200]


async def timed(client: httpx.AsyncClient, paths: list[str], key: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    for path in paths[:5]:  # warm caches and the connection pool
        await client.get(path, headers=headers)
    took = []
    for path in paths:
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    took.sort()
    return {
        "p50_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[int(len(took) * 0.95) - 1], 2),
    }


async def run(engine_name: str, transactions: int, cases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        async with database(engine_name, work) as url:
            engine = create_engine(url)
            await upgrade(engine)
            started = time.perf_counter()
            accounts = [f"acct-{i}" for i in range(1000)]
            await store(engine, payments(transactions), accounts)
            await engine.dispose()
            case_ids = await open_cases(url, transactions, cases)
            seeded = time.perf_counter() - started
            console.print(
                f"{engine_name}: {transactions:,} payments, {cases:,} cases in {seeded:.0f} s"
            )
            settings = Settings(
                data_dir=work, database_url=url, model_serving=False, run_workers=False,
                bootstrap_admin_key=False, embeddings_enabled=False, auto_migrate=False,
                rate_limit_console=0,  # one caller asks as fast as it can: measure, not throttle
                card_token_secret="bench-card-token-secret-0123456789abcdef",  # type: ignore[arg-type]
                _env_file=None,  # type: ignore[call-arg]
            )  # fmt: skip
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                async with transaction(app.state.runtime.engine) as connection:
                    key = (
                        await key_service.create_key(connection, Role.ANALYST, "bench")
                    ).plaintext
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    rng = random.Random(3)
                    countries = [rng.choice(COUNTRIES) for _ in range(200)]
                    await sign_in(client, key)  # the console pages: session cookie from here
                    return {
                        "engine": engine_name,
                        "transactions": transactions,
                        "open_cases": cases,
                        "queue_by_priority": await timed(client, ["/v1/cases?limit=50"] * 200, key),
                        "queue_filtered_by_age": await timed(
                            client,
                            [f"/v1/cases?country={c}&sort=age&limit=50" for c in countries],
                            key,
                        ),
                        "case_detail": await timed(
                            client, [f"/v1/cases/{rng.choice(case_ids)}" for _ in range(200)], key
                        ),
                        "console_queue_page": await timed(client, ["/cases"] * 200, key),
                        "console_case_page": await timed(
                            client, [f"/cases/{rng.choice(case_ids)}" for _ in range(200)], key
                        ),
                    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    rows = [asyncio.run(run(e, args.transactions, args.cases)) for e in args.engines.split(",")]
    table = Table(title="review queue: server time per request (target p95 <= 50 ms)")
    for column in ("engine", "payments", "open cases", "request", "p50 ms", "p95 ms"):
        table.add_column(column)
    for row in rows:
        for request in REQUESTS:
            figures = row[request]
            table.add_row(
                row["engine"], f"{row['transactions']:,}", f"{row['open_cases']:,}", request,
                str(figures["p50_ms"]), str(figures["p95_ms"]),
            )  # fmt: skip
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
