"""Investigation speed with 1,000,000 stored payments, on SQLite and PostgreSQL (issue 13):
quick p95 <= 300 ms, deep p95 <= 2 s, detail fetch p95 <= 50 ms, and fewer than 1% of the
runs without a recommendation.

Payments are the cases benchmark's (its generator and bulk loader, straight into the tables),
with a device, an IP and a feature vector each and a label on every 25th (every 10th of those
fraud); every tenth payment opens a case. The newest `--embedded` records get embeddings with
the product's embedder, so deep mode's similarity step searches them (the 1,000,000-vector
search itself is measured in benchmarks/similarity.py). Requests go through the real app in
process (ASGI, no socket), one at a time, on payments picked at random among the embedded
ones: the figures are the server's own time. Each run's step trace gives the time per step.

    .venv/bin/python benchmarks/investigations.py [--transactions 1000000] [--engines sqlite]
"""

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from benchmarks.backtest import START, store
from benchmarks.cases import database, open_cases
from benchmarks.cases import payments as case_payments
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from riskops.app import create_app
from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.db import transaction
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.features import FEATURE_NAMES
from riskops.settings import Settings
from riskops.similarity import repository as vectors
from riskops.similarity.embedders import FeatureEmbedder, fit_feature_params
from riskops.similarity.index import EmbeddingId
from riskops.similarity.models import TABLE_DIM

RESULTS = Path(__file__).resolve().parent / "results" / "investigations.json"
TARGETS_MS = {"quick": 300.0, "deep": 2000.0, "detail_fetch": 50.0}
DEVICES = 50_000
IPS = 40_000
LABEL_EVERY = 25
FRAUD_EVERY = 250
# Migration 0013 indexes transactions by IP; without it the context tool's IP history scans
# its time window. `--ip-index both` measures the same data without it (dropped), then with it.
IP_INDEX = "CREATE INDEX ix_transactions_ip_occurred_at ON transactions (ip, occurred_at)"
NO_IP_INDEX = "DROP INDEX ix_transactions_ip_occurred_at"
console = Console()


def features(rng: random.Random, amount: int) -> dict[str, float]:
    return {
        name: float(amount) if name == "amount_minor" else round(rng.lognormvariate(1, 1), 3)
        for name in FEATURE_NAMES
    }


def payments(count: int, embedded: int) -> Iterator[tuple[dict[str, Any], Any, Any]]:
    """The cases benchmark's payments with a device, an IP, labels, and features on the
    newest `embedded` (the others' feature logs stay empty: nothing reads them here)."""
    rng = random.Random(13)
    for index, (txn, decision, _) in enumerate(case_payments(count)):
        txn["device_id"] = f"dev-{index % DEVICES}"
        slot = index % IPS
        txn["ip"] = f"10.{slot >> 16}.{(slot >> 8) & 255}.{slot & 255}"
        if index >= count - embedded:
            decision["features"] = features(rng, txn["amount_minor"])
        label = None
        if index % LABEL_EVERY == 0:
            label = {
                "id": f"L{index:025d}",
                "transaction_id": txn["id"],
                "label": 1 if index % FRAUD_EVERY == 0 else 0,
                "source": "backfill",
                "labelled_at": txn["occurred_at"] + timedelta(days=1),
                "created_at": txn["occurred_at"],
                "event_id": None,
            }
        yield txn, decision, label


async def embed_newest(url: str, count: int, embedded: int, embedding: str) -> None:
    """Embed the newest records with the product's embedder, fitted on them, as the
    background task would have (without its scan for records lacking a vector)."""
    name, version = embedding.split("/", 1)
    which = EmbeddingId(name, version)
    rng = random.Random(13)
    rows = []
    for index, (txn, decision, _) in enumerate(case_payments(count)):
        if index >= count - embedded:
            rows.append((txn, decision, features(rng, txn["amount_minor"])))
    params = fit_feature_params(FEATURE_NAMES, [r[2] for r in rows[-20_000:]])
    embedder = FeatureEmbedder.from_params(version, TABLE_DIM, params)
    engine = create_engine(url)
    try:
        async with transaction(engine) as connection:
            await vectors.insert_version(
                connection,
                {"embedding_name": name, "embedding_version": version, "dim": TABLE_DIM,
                 "params": params, "created_at": START},
            )  # fmt: skip
        for start in range(0, len(rows), 2000):
            batch = rows[start : start + 2000]
            found = embedder.embed_many([r[2] for r in batch])
            async with transaction(engine) as connection:
                await vectors.insert_embeddings(
                    connection,
                    [
                        {"record_id": txn["id"], "embedding_name": which.name,
                         "embedding_version": which.version, "kind": "decision",
                         "model_name": None, "outcome": decision["status"],
                         "score": decision["score"], "created_at": txn["created_at"],
                         "vector": found[i]}
                        for i, (txn, decision, _) in enumerate(batch)
                    ],
                )  # fmt: skip
    finally:
        await engine.dispose()


def figures(took: list[float]) -> dict[str, float]:
    took = sorted(took)
    return {
        "p50_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[max(0, int(len(took) * 0.95) - 1)], 2),
        "max_ms": round(took[-1], 2),
        "n": len(took),
    }


def value_of(text: str, series: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith(series + " ")), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


def delta(before: str, after: str) -> Any:
    """How much one series grew between two expositions (the registry is the process's)."""
    return lambda series: value_of(after, series) - value_of(before, series)


async def measure(
    client: httpx.AsyncClient, key: str, subjects: list[str], runs: dict[str, int], fetches: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    before = (await client.get("/metrics", headers=headers)).text
    rng = random.Random(3)
    took: dict[str, list[float]] = {"quick": [], "deep": [], "detail_fetch": []}
    steps: dict[str, list[float]] = {}
    failures = {"http": 0, "no_recommendation": 0}
    ids: list[str] = []
    for mode, count in runs.items():
        for number in range(count + 3):  # the first three warm caches and the vector index
            body = {"transaction_id": rng.choice(subjects), "mode": mode}
            started = time.perf_counter()
            answer = await client.post("/v1/investigations", json=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if number < 3:
                continue
            if answer.status_code != 201:
                failures["http"] += 1
                console.print(f"[red]{answer.status_code}[/red] {answer.text[:200]}")
                continue
            found = answer.json()
            took[mode].append(elapsed)
            ids.append(found["id"])
            if found["recommendation"] is None:
                failures["no_recommendation"] += 1
            for step in found["trace"]:
                steps.setdefault(f"{mode}:{step['name']}", []).append(step["duration_ms"] or 0)
    for number in range(fetches + 3):
        path = f"/v1/investigations/{rng.choice(ids)}"
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
        if number >= 3:
            took["detail_fetch"].append(elapsed)
    metric = delta(before, (await client.get("/metrics", headers=headers)).text)
    total = sum(runs.values())
    return {
        **{what: figures(values) for what, values in took.items()},
        "steps_p95_ms": {
            name: round(sorted(v)[max(0, int(len(v) * 0.95) - 1)], 2) for name, v in steps.items()
        },
        "runs": total,
        "failures": failures,
        "recommendation_failure_rate": round(
            (failures["http"] + failures["no_recommendation"]) / total, 4
        ),
        "metrics": {
            "riskops_investigation_duration_seconds_count": {
                mode: metric(f'riskops_investigation_duration_seconds_count{{mode="{mode}"}}')
                for mode in runs
            },
            "riskops_investigation_fetch_seconds_count": metric(
                "riskops_investigation_fetch_seconds_count"
            ),
            "riskops_investigation_recommendation_failures_total": {
                mode: metric(
                    f'riskops_investigation_recommendation_failures_total{{mode="{mode}"}}'
                )
                for mode in runs
            },
        },
    }


async def run(
    engine_name: str,
    count: int,
    embedded: int,
    runs: dict[str, int],
    fetches: int,
    ip_index: str,
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        async with database(engine_name, work) as url:
            engine = create_engine(url)
            await upgrade(engine)
            started = time.perf_counter()
            await store(engine, payments(count, embedded), [f"acct-{i}" for i in range(1000)])
            await engine.dispose()
            await open_cases(url, count, count // 10)
            stored = time.perf_counter() - started
            settings = Settings(
                data_dir=work, database_url=url, model_serving=False, run_workers=False,
                bootstrap_admin_key=False, embeddings_enabled=False, auto_migrate=False,
                card_token_secret="bench-card-token-secret-0123456789abcdef",  # type: ignore[arg-type]
                _env_file=None,  # type: ignore[call-arg]
            )  # fmt: skip
            started = time.perf_counter()
            await embed_newest(url, count, embedded, settings.embedding)
            console.print(
                f"{engine_name}: {count:,} payments and cases in {stored:.0f} s, "
                f"{embedded:,} embedded in {time.perf_counter() - started:.0f} s"
            )
            newest = [f"T{i:025d}" for i in range(count - embedded, count)]
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                async with transaction(app.state.runtime.engine) as connection:
                    key = (
                        await key_service.create_key(connection, Role.ANALYST, "bench")
                    ).plaintext
                transport = httpx.ASGITransport(app=app)
                rows, dropped = [], False
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    for indexed in {"no": [False], "yes": [True], "both": [False, True]}[ip_index]:
                        # The migrated schema has the index: drop it for "no", restore it after.
                        if not indexed or dropped:
                            async with transaction(app.state.runtime.engine) as connection:
                                await connection.execute(text(IP_INDEX if indexed else NO_IP_INDEX))
                        dropped = not indexed
                        rows.append({
                            "engine": engine_name, "transactions": count,
                            "open_cases": count // 10, "embedded": embedded, "ip_index": indexed,
                            **await measure(client, key, newest, runs, fetches),
                        })  # fmt: skip
            return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--embedded", type=int, default=100_000, help="newest records embedded")
    parser.add_argument(
        "--pg-embedded",
        type=int,
        default=20_000,
        help="on PostgreSQL (pgvector's HNSW index makes each insert slow: 80 s per 20,000 here)",
    )
    parser.add_argument("--quick", type=int, default=200, help="quick runs measured")
    parser.add_argument("--deep", type=int, default=100, help="deep runs measured")
    parser.add_argument("--fetches", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--ip-index", choices=("no", "yes", "both"), default="yes")
    args = parser.parse_args()
    runs = {"quick": args.quick, "deep": args.deep}
    rows = [
        row
        for e in args.engines.split(",")
        for row in asyncio.run(
            run(
                e,
                args.transactions,
                args.pg_embedded if e == "postgres" else args.embedded,
                runs,
                args.fetches,
                args.ip_index,
            )
        )
    ]
    table = Table(title="investigations: server time per request")
    for column in ("engine", "payments", "IP index", "request", "p50 ms", "p95 ms", "target p95"):
        table.add_column(column)
    for row in rows:
        for what, target in TARGETS_MS.items():
            table.add_row(
                row["engine"], f"{row['transactions']:,}", "yes" if row["ip_index"] else "no",
                what, str(row[what]["p50_ms"]), str(row[what]["p95_ms"]), f"{target:g} ms",
            )  # fmt: skip
        table.add_row(
            row["engine"], "", "", "no recommendation",
            f"{row['recommendation_failure_rate']:.2%}", "", "< 1%",
        )  # fmt: skip
    console.print(table)
    for row in rows:
        console.print(row["engine"], "IP index" if row["ip_index"] else "", row["steps_p95_ms"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
