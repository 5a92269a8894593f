"""Decision-path benchmark: RiskOps as shipped and on the production stack, next to a reference
FastAPI echo started in the same run, driven by wrk on loopback.

Rows: the reference echo (POST, orjson in and out: the least a FastAPI JSON endpoint does
here), GET /health, decisions as shipped (`riskops serve`: the API process and its supervised
worker process, model serving on) at 4 and 32 connections, and the production stack
(PostgreSQL, Redis features, a Kafka-protocol broker, one `riskops worker` process and two
`riskops serve --api-only` processes; wrk's connections are split over the two ports and the
parts summed: no load balancer on this machine). For each decision row: decisions/s,
p50/p95/p99/max, non-2xx, the ratio to the echo at the same connections, the API's worst
event-loop stall during the run, the outbox backlog's peak and its drain time after the load.
Then feature-state memory per card (benchmarks/feature_memory.py) and, when present, the
per-stage CPU profile (benchmarks/stages.py). Writes benchmarks/results/decisions.json.

Only ratios within one run mean much on a busy machine; absolute figures are reported too.

    make bench
    .venv/bin/python benchmarks/decisions.py --duration 15
    # A/B, alternating: the worker split against one process
    .venv/bin/python benchmarks/decisions.py --no-memory \
        --variants shipped,single-process,shipped,single-process
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadgen import (
    LUA_DONE,
    BacklogWatch,
    Server,
    free_port,
    loop_lag,
    post_script,
    stall_during,
    wait_drained,
    wait_for_model,
    wait_healthy,
    wrk,
    wrk_split,
)

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
PYTHON = sys.executable
RESULTS = HERE / "results"
POSTGRES_URL = os.environ.get(
    "RISKOPS_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("RISKOPS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TARGETS = {
    "shipped_ratio_32": 0.6,
    "shipped_p99_ms_32": 20,
    "shipped_p99_ms_4": 5,
    "stall_ms": 20,
    "production_ratio_32": 0.3,
    "production_p99_ms_32": 40,
    "drain_s": 1.0,
}
VARIANTS = {
    "shipped": "as shipped: serve + worker process",
    "single-process": "one process (before the split)",
    "production": "production stack, 2 API + worker",
}
console = Console(width=170)  # one table, wide: it goes to a log as often as a terminal


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    console.print("installing wrk (Debian package) ...")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)


def riskops(*args: str) -> list[str]:
    return [PYTHON, "-m", "riskops", *args]


def create_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        riskops("keys", "create", "--role", "service"),
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def measure(
    label: str,
    bases: list[str],
    key: str,
    script: Path,
    connections: int,
    seconds: int,
    database_url: str,
) -> dict[str, Any]:
    """One decision run: wrk on every API, the loop monitors before and after, the backlog."""
    before = [loop_lag(base, key) for base in bases]
    with BacklogWatch(database_url) as watch:
        urls = [f"{base}/v1/transactions" for base in bases]
        result = wrk_split(urls, script, connections, seconds)
        events = watch.drained_after(time.monotonic())
    stalls = [stall_during(b, loop_lag(base, key)) for b, base in zip(before, bases, strict=True)]
    return {
        "row": label,
        "connections": connections,
        **result,
        "stall_over_20ms": sum(int(s["over_20ms"]) for s in stalls),
        "stall_max_ms": _worst([s["max_ms"] for s in stalls]),
        **events,
    }


def _worst(values: list[float | int | str]) -> float | int | str:
    # Exact maxima are numbers, bounds are text ("<=50"): show the larger.
    def size(value: float | int | str) -> float:
        return float(str(value).lstrip("<=>"))

    return max(values, key=size)


def run_riskops(
    variant: str,
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    database_url: str,
    apis: int = 1,
    api_args: tuple[str, ...] = (),
    separate_worker: bool = False,
) -> list[dict[str, Any]]:
    """Start the variant's processes, wait for the champion, measure, stop everything."""
    key = create_key(env)
    servers: list[Server] = []
    if separate_worker:
        servers.append(Server("worker", riskops("worker"), env, work / "worker.log").start())
    bases = []
    for n in range(apis):
        port = free_port()
        bases.append(f"http://127.0.0.1:{port}")
        command = riskops("serve", "--port", str(port), *api_args)
        servers.append(Server(f"api-{n}", command, env, work / f"api-{n}.log").start())
    rows: list[dict[str, Any]] = []
    try:
        for base, server in zip(bases, servers[-apis:], strict=True):
            wait_healthy(base, server)
        if args.model:
            console.print(f"[{variant}] waiting for the champion to serve ...")
            for base in bases:
                wait_for_model(base, key)
        script = work / f"post-{variant}.lua"
        script.write_text(post_script(key, args.cards, variant))
        console.print(f"[{variant}] warming up ...")
        wrk_split([f"{b}/v1/transactions" for b in bases], script, 32, 3)
        # The worker process imports the ML stack before it relays: measure once events flow.
        console.print(f"[{variant}] waiting for the worker to relay the warm-up's events ...")
        wait_drained(database_url)
        if variant == "shipped":
            trivial = work / "trivial.lua"
            trivial.write_text(LUA_DONE)
            console.print(f"[{variant}] GET /health, 32 connections ...")
            health = wrk(f"{bases[0]}/health", trivial, 32, args.duration)
            rows.append({"row": "GET /health (riskops)", "connections": 32, **health})
        for connections in (4, 32):
            console.print(f"[{variant}] decisions, {connections} connections ...")
            rows.append(
                measure(
                    f"decisions, {VARIANTS[variant]}",
                    bases,
                    key,
                    script,
                    connections,
                    args.duration,
                    database_url,
                )
            )
    finally:
        for server in reversed(servers):
            server.stop()
    for row in rows:
        row["variant"] = variant
    return rows


def reference_echo(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ}
    command = [PYTHON, str(HERE / "reference_echo.py"), "--port", str(port)]
    server = Server("reference echo", command, env, work / "echo.log").start()
    rows = []
    try:
        wait_healthy(base, server)
        script = work / "echo.lua"
        script.write_text(post_script("unused", args.cards, "echo"))
        wrk(f"{base}/echo", script, 32, 2)
        for connections in (4, 32):
            console.print(f"reference echo, {connections} connections ...")
            result = wrk(f"{base}/echo", script, connections, args.duration)
            rows.append({"row": "reference echo (FastAPI, orjson)", "connections": connections,
                         "variant": "echo", **result})  # fmt: skip
    finally:
        server.stop()
    return rows


def embedded_env(data_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "RISKOPS_DATA_DIR": str(data_dir),
        "RISKOPS_BOOTSTRAP_ADMIN_KEY": "false",
        "RISKOPS_MODEL_SERVING": str(args.model).lower(),
    }
    env.pop("RISKOPS_DATABASE_URL", None)
    return env


@contextlib.contextmanager
def production_stack(work: Path, embedded_dir: Path) -> Iterator[tuple[dict[str, str], str]]:
    """A fresh PostgreSQL database, a Tansu broker, a Redis key prefix; dropped afterwards.

    The model registry is the embedded run's (its champion is reused instead of trained again).
    """
    sys.path.insert(0, str(ROOT))
    from tests.kafka import Broker, require_tansu  # the broker the Kafka tests use

    name = f"riskops_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_database(name, create=True))
    broker = Broker(require_tansu())
    broker.start()
    prefix = f"bench:{name}:"
    data_dir = work / "production"
    data_dir.mkdir()
    env = {
        **os.environ,
        "RISKOPS_DATA_DIR": str(data_dir),
        "RISKOPS_BOOTSTRAP_ADMIN_KEY": "false",
        "RISKOPS_DATABASE_URL": POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}",
        "RISKOPS_FEATURE_STORE": "redis",
        "RISKOPS_REDIS_URL": REDIS_URL,
        "RISKOPS_REDIS_KEY_PREFIX": prefix,
        "RISKOPS_BUS": "kafka",
        "RISKOPS_KAFKA_BOOTSTRAP": broker.bootstrap,
        "RISKOPS_KAFKA_SESSION_TIMEOUT": "6",
        "RISKOPS_MLFLOW_TRACKING_URI": f"sqlite:///{(embedded_dir / 'mlflow.db').resolve()}",
    }
    try:
        yield env, env["RISKOPS_DATABASE_URL"]
    finally:
        broker.stop()
        asyncio.run(_database(name, create=False))
        asyncio.run(_drop_redis_prefix(prefix))


async def _database(name: str, *, create: bool) -> None:
    from sqlalchemy import text

    from riskops.db.engine import create_engine

    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            statement = (
                f'CREATE DATABASE "{name}"'
                if create
                else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


async def _drop_redis_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for offset in range(0, len(keys), 1000):
            await client.unlink(*keys[offset : offset + 1000])
    finally:
        await client.aclose()


def feature_memory(args: argparse.Namespace) -> dict[str, Any]:
    console.print(f"feature memory: {args.memory_cards:,} cards in-process, Redis sample ...")
    done = subprocess.run(
        [PYTHON, str(HERE / "feature_memory.py"), "--json", "--cards", str(args.memory_cards),
         "--redis", REDIS_URL],
        capture_output=True, text=True, check=True, cwd=HERE,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def stages() -> dict[str, Any]:
    """The per-stage CPU profile of a decision, when benchmarks/stages.py exists.

    Hook: that script is run as is; its output is printed and kept in the results (and
    benchmarks/results/stages.json embedded if it writes one)."""
    script = HERE / "stages.py"
    if not script.exists():
        return {"skipped": "benchmarks/stages.py is not in this tree"}
    console.print("per-stage CPU profile (benchmarks/stages.py) ...")
    done = subprocess.run([PYTHON, str(script)], capture_output=True, text=True, cwd=ROOT)
    console.print(done.stdout)
    found: dict[str, Any] = {"returncode": done.returncode, "output": done.stdout[-20000:]}
    written = RESULTS / "stages.json"
    if written.exists():
        found["profile"] = json.loads(written.read_text())
    return found


def ratios(rows: list[dict[str, Any]]) -> None:
    echo = {r["connections"]: r["rps"] for r in rows if r["variant"] == "echo"}
    for row in rows:
        if row["connections"] in echo and row["variant"] != "echo":
            row["ratio_to_echo"] = round(row["rps"] / echo[row["connections"]], 3)


def render(rows: list[dict[str, Any]], memory: dict[str, Any] | None) -> None:
    table = Table(title="decision path vs a reference FastAPI echo (same run, same machine)")
    columns = ("row", "conn", "req/s", "p50", "p95", "p99", "max ms", "non-2xx", "ratio",
               "stall max ms", "backlog max", "drain s")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "row" else "right")
    for r in rows:
        table.add_row(
            r["row"], str(r["connections"]), f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['max_ms']:.0f}",
            str(int(r["non2xx"] + r["socket_errors"])), str(r.get("ratio_to_echo", "")),
            str(r.get("stall_max_ms", "")), str(r.get("backlog_max", "")),
            str(r.get("drain_s", "")),
        )  # fmt: skip
    console.print(table)
    if memory:
        embedded, redis = memory["embedded"], memory["redis"]
        console.print(
            f"feature state, embedded: {embedded['mb_per_100k_cards']} MB RSS per 100,000 cards "
            f"({embedded['million_cards_gb']} GB per million; target <= 2 GB); Redis: "
            f"{redis.get('used_memory_bytes_per_card', redis.get('skipped'))} bytes per card "
            f"(used_memory delta; MEMORY USAGE {redis.get('memory_usage_bytes_per_card')})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--cards", type=int, default=5000, help="distinct cards in the traffic")
    parser.add_argument(
        "--variants",
        default="shipped,production",
        help=f"comma-separated, in order, repeats allowed (A/B): {', '.join(VARIANTS)}",
    )
    parser.add_argument("--echo", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--model",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="score with the champion model (trained at first start); off: rules alone",
    )
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--memory-cards", type=int, default=200_000)
    parser.add_argument("--output", type=Path, default=RESULTS / "decisions.json")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    ensure_wrk()

    work = Path(tempfile.mkdtemp(prefix="riskops-bench-"))
    embedded_dir = work / "embedded"  # every embedded variant reuses it (and its champion)
    embedded_dir.mkdir()
    sqlite_url = f"sqlite+aiosqlite:///{embedded_dir / 'riskops.db'}"
    rows: list[dict[str, Any]] = []
    try:
        if args.echo:
            rows += reference_echo(args, work)
        for variant in variants:
            if variant == "production":
                with production_stack(work, embedded_dir) as (env, url):
                    rows += run_riskops(
                        variant, args, work, env, url, apis=2, api_args=("--api-only",),
                        separate_worker=True,
                    )  # fmt: skip
                continue
            api_args = ("--single-process",) if variant == "single-process" else ()
            env = embedded_env(embedded_dir, args)
            rows += run_riskops(variant, args, work, env, sqlite_url, api_args=api_args)
        memory = feature_memory(args) if args.memory else None
        profile = stages()
    finally:
        if args.keep:
            console.print(f"data and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    ratios(rows)
    report = {
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "duration_s": args.duration,
        "cards": args.cards,
        "model_scoring": args.model,
        "rows": rows,
        "feature_memory": memory,
        "stages": profile,
        "targets": TARGETS,
        "notes": [
            "Ratios are to the reference echo at the same connection count, same run.",
            "Production stack: two API processes on two ports, wrk's connections split and "
            "summed; its percentiles are the worse of the two parts.",
            "stall_max_ms: the API process's worst event-loop lag during the run; '<=N' is a "
            "histogram bound when the process's worst-ever lag did not rise during the run.",
            "drain_s: from the end of the load until the outbox backlog was 0 (sampled every "
            "100 ms).",
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str))
    render(rows, memory)
    console.print(f"written to {args.output}")


if __name__ == "__main__":
    main()
