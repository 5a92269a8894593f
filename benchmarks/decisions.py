"""Decision-path benchmark: the real server on the embedded default, driven by wrk on loopback.

Measures POST /v1/transactions and, in the same run against the same server, a trivial JSON
endpoint (GET /health: the framework's own ceiling), and reports the ratio of the two.
Targets (figures, not test assertions): ratio >= 0.6, p99 <= 20 ms at 32 connections,
no event-loop stall over 20 ms.

    make bench                      # or: .venv/bin/python benchmarks/decisions.py --duration 15
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

from riskops.decisions.cards import with_check_digit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
console = Console()

LUA_DONE = """
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "rps": %.1f, "non2xx": %d, "socket_errors": %d,'
    .. ' "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\\n',
    summary.requests, s, summary.requests / s, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def post_script(key: str, cards: int) -> str:
    rng = random.Random(1)
    numbers = [
        with_check_digit("4" + "".join(rng.choices("0123456789", k=14))) for _ in range(cards)
    ]
    table = ",".join(f'"{n}"' for n in numbers)
    return (
        f"""
local cards = {{{table}}}
local counter = 0
local run = tostring(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  counter = counter + 1
  local card = (counter % #cards) + 1
  local body = string.format(
    '{{"account_id":"acct-%d","amount_minor":%d,"currency":"EUR","card_number":"%s",'
    .. '"merchant_id":"m-%d","merchant_category":"5411","merchant_country":"DE","channel":"pos",'
    .. '"device_id":"dev-%d"}}',
    card, 100 + (counter * 7919) % 50000, cards[card], counter % 500, card)
  wrk.headers["Idempotency-Key"] = run .. "-" .. counter
  return wrk.format(nil, nil, nil, body)
end
"""
        + LUA_DONE
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    result: dict[str, float] = json.loads(match.group(1))
    return result


def loop_stalls(base: str, key: str) -> tuple[float, float]:
    """(ticks late by more than 20 ms so far, worst lag in ms) from the server's own metrics."""
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {key}"})
    text = urllib.request.urlopen(request, timeout=5).read().decode()

    def value(pattern: str) -> float:
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    total = value(r"^riskops_event_loop_lag_seconds_count (\S+)$")
    within = value(r'^riskops_event_loop_lag_seconds_bucket\{le="0.02"\} (\S+)$')
    return total - within, value(r"^riskops_event_loop_lag_max_seconds (\S+)$") * 1000


def wait_for_model(base: str, key: str, seconds: float = 300) -> None:
    """Submit a probe payment every second until the champion model scores it."""
    body = json.dumps(
        {
            "account_id": "probe",
            "amount_minor": 1000,
            "currency": "EUR",
            "card_number": "4111111111111111",
            "merchant_id": "m-probe",
            "merchant_category": "5411",
            "merchant_country": "DE",
            "channel": "pos",
        }
    ).encode()
    deadline = time.monotonic() + seconds
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        request = urllib.request.Request(
            f"{base}/v1/transactions",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"probe-{attempt}",
            },
        )
        decision = json.load(urllib.request.urlopen(request, timeout=10))["decision"]
        if decision["score_source"] == "model":
            return
        time.sleep(1)
    raise RuntimeError("no champion model was serving within the wait")


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    console.print("installing wrk (Debian package) ...")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cards", type=int, default=5000, help="distinct cards in the traffic")
    parser.add_argument(
        "--workers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the outbox relay and consumers in the API process, as `make run` does",
    )
    parser.add_argument(
        "--model",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="score with the champion model (trained at first start); off: rules alone",
    )
    parser.add_argument(
        "--embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="embed every record in the background (similar cases), as `make run` does",
    )
    args = parser.parse_args()
    ensure_wrk()

    work = Path(tempfile.mkdtemp(prefix="riskops-bench-"))
    env = {
        **os.environ,
        "RISKOPS_DATA_DIR": str(work),
        "RISKOPS_BOOTSTRAP_ADMIN_KEY": "false",
        "RISKOPS_RUN_WORKERS": str(args.workers).lower(),
        "RISKOPS_MODEL_SERVING": str(args.model).lower(),
        "RISKOPS_EMBEDDINGS_ENABLED": str(args.embeddings).lower(),
    }
    env.pop("RISKOPS_DATABASE_URL", None)
    key = (
        subprocess.run(
            [BIN / "riskops", "keys", "create", "--role", "service"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [BIN / "riskops", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(1200):  # startup imports the ML stack: up to a minute on a busy machine
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(
                f"the server did not start: {server.stderr.read1().decode()[-2000:]}"
            )  # type: ignore[union-attr]
        post = work / "post.lua"
        post.write_text(post_script(key, args.cards))
        trivial = work / "trivial.lua"
        trivial.write_text(LUA_DONE)

        if args.model:
            console.print("waiting for the first champion (trained at first start) ...")
            wait_for_model(base, key)
        console.print(f"warming up ({args.connections} connections, {args.cards} cards) ...")
        wrk(f"{base}/v1/transactions", post, args.connections, 3)
        console.print(f"measuring GET /health for {args.duration}s ...")
        health = wrk(f"{base}/health", trivial, args.connections, args.duration)
        stalls_before, _ = loop_stalls(base, key)
        console.print(f"measuring POST /v1/transactions for {args.duration}s ...")
        decisions = wrk(f"{base}/v1/transactions", post, args.connections, args.duration)
        stalls_after, worst_lag = loop_stalls(base, key)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    ratio = decisions["rps"] / health["rps"]
    report = {
        "workers_in_process": args.workers,
        "model_scoring": args.model,
        "embeddings": args.embeddings,
        "connections": args.connections,
        "duration_s": args.duration,
        "decisions": decisions,
        "trivial_endpoint": health,
        "throughput_ratio": round(ratio, 3),
        "loop_stalls_over_20ms": int(stalls_after - stalls_before),
        "worst_loop_lag_ms": round(worst_lag, 2),
        "targets": {"throughput_ratio": 0.6, "p99_ms": 20, "loop_stalls_over_20ms": 0},
    }
    name = (
        f"decisions{'' if args.workers else '-no-workers'}{'' if args.model else '-no-model'}"
        f"{'' if args.embeddings else '-no-embeddings'}"
    )
    written = RESULTS / f"{name}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    written.write_text(json.dumps(report, indent=2))

    setup = (
        f"workers {'on' if args.workers else 'off'}, model {'on' if args.model else 'off'}, "
        f"embeddings {'on' if args.embeddings else 'off'}"
    )
    table = Table(
        title=f"decision path vs trivial endpoint, {args.connections} connections, {setup}"
    )
    for column in ("endpoint", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "non-2xx"):
        table.add_column(column, justify="right")
    for name, r in (("POST /v1/transactions", decisions), ("GET /health", health)):
        table.add_row(
            name,
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p95_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['max_ms']:.2f}",
            str(int(r["non2xx"])),
        )
    console.print(table)
    console.print(
        f"throughput ratio {ratio:.2f} (target >= 0.6); p99 {decisions['p99_ms']:.1f} ms "
        f"(target <= 20); loop stalls > 20 ms during the run: {report['loop_stalls_over_20ms']}, "
        f"worst lag since start {worst_lag:.1f} ms; written to {written.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
