"""What the decision benchmark drives and watches: wrk runs, servers as real processes, the
server's loop stalls and the outbox backlog while load runs."""

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskops.decisions.cards import with_check_digit

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


def post_script(key: str, cards: int, run: str) -> str:
    """Payments over `cards` distinct cards, each with a fresh idempotency key."""
    rng = random.Random(1)
    numbers = [
        with_check_digit("4" + "".join(rng.choices("0123456789", k=14))) for _ in range(cards)
    ]
    table = ",".join(f'"{n}"' for n in numbers)
    return (
        f"""
local cards = {{{table}}}
local counter = 0
local run = "{run}" .. tostring(os.time()) .. tostring(math.random(1000000))
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
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    result: dict[str, float] = json.loads(match.group(1))
    return result


def wrk_split(
    urls: Sequence[str], script: Path, connections: int, seconds: int
) -> dict[str, float]:
    """One wrk per URL at the same time, connections split evenly; rates and counts add up,
    latency percentiles are the worst of the parts (an upper bound of the combined ones)."""
    share = max(connections // len(urls), 1)
    with ThreadPoolExecutor(len(urls)) as pool:
        parts = list(pool.map(lambda url: wrk(url, script, share, seconds), urls))
    summed = {k: sum(p[k] for p in parts) for k in ("requests", "rps", "non2xx", "socket_errors")}
    worst = {k: max(p[k] for p in parts) for k in ("seconds", "p50_ms", "p95_ms", "p99_ms")}
    return summed | worst | {"max_ms": max(p["max_ms"] for p in parts)}


@dataclass
class Server:
    """A server process in a session of its own: stopped with its whole group."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Server":
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=sink, stderr=sink, start_new_session=True
            )
        return self

    def stop(self, within: float = 40) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_healthy(base: str, server: Server, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        try:
            urllib.request.urlopen(f"{base}/health", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer within {seconds:.0f} s:\n{server.tail()}")


def wait_for_model(base: str, key: str, seconds: float = 600) -> float:
    """Submit a probe payment every second until the champion scores it; returns the wait."""
    started = time.monotonic()
    body = json.dumps(
        {"account_id": "probe", "amount_minor": 1000, "currency": "EUR",
         "card_number": "4111111111111111", "merchant_id": "m-probe",
         "merchant_category": "5411", "merchant_country": "DE", "channel": "pos"}
    ).encode()  # fmt: skip
    attempt = 0
    while time.monotonic() - started < seconds:
        attempt += 1
        request = urllib.request.Request(
            f"{base}/v1/transactions", data=body, method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                     "Idempotency-Key": f"probe-{os.getpid()}-{attempt}-{time.time()}"},
        )  # fmt: skip
        decision = json.load(urllib.request.urlopen(request, timeout=10))["decision"]
        if decision["score_source"] == "model":
            return time.monotonic() - started
        time.sleep(1)
    raise RuntimeError("no champion model was serving within the wait")


BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


def loop_lag(base: str, key: str) -> dict[str, Any]:
    """The API process's loop monitor: worst lag since start and the lag histogram."""
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {key}"})
    text = urllib.request.urlopen(request, timeout=5).read().decode()

    def value(pattern: str) -> float:
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    buckets = {
        b: value(rf'^riskops_event_loop_lag_seconds_bucket\{{le="{b}"\}} (\S+)$') for b in BUCKETS
    }
    return {
        "count": value(r"^riskops_event_loop_lag_seconds_count (\S+)$"),
        "buckets": buckets,
        "worst_s": value(r"^riskops_event_loop_lag_max_seconds (\S+)$"),
    }


def stall_during(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | int | str]:
    """Ticks late by > 20 ms during a run, and the worst lag of the run: exact when the
    process's worst-ever lag rose during it, else bounded by the histogram bucket."""
    late = lambda snap: snap["count"] - snap["buckets"][0.02]  # noqa: E731
    over_20ms = int(late(after) - late(before))
    if after["worst_s"] > before["worst_s"]:
        return {"over_20ms": over_20ms, "max_ms": round(after["worst_s"] * 1000, 1)}
    # Some ticks ran later than each bucket bound that grew by fewer than all the run's ticks:
    # the worst lies between the highest such bound and the next one.
    ticks = after["count"] - before["count"]
    exceeded = [b for b in BUCKETS if after["buckets"][b] - before["buckets"][b] < ticks]
    if not exceeded:
        return {"over_20ms": over_20ms, "max_ms": f"<={BUCKETS[0] * 1000:.0f}"}
    above = [b for b in BUCKETS if b > max(exceeded)]
    bound = f"<={above[0] * 1000:.0f}" if above else f">{max(exceeded) * 1000:.0f}"
    return {"over_20ms": over_20ms, "max_ms": bound}


def wait_drained(database_url: str, seconds: float = 600) -> float:
    """Wait until the outbox backlog is 0 (the relay runs); returns the wait."""
    started = time.monotonic()
    with BacklogWatch(database_url) as watch:
        found = watch.drained_after(started, within=seconds)
    if found["drain_s"] is None:
        raise RuntimeError(f"the outbox did not drain within {seconds:.0f} s")
    return time.monotonic() - started


@dataclass
class BacklogWatch:
    """Samples the outbox backlog from its own thread and event loop while load runs."""

    database_url: str
    every: float = 0.1
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "BacklogWatch":
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    async def _run(self) -> None:
        from riskops.db.engine import create_engine
        from riskops.events.service import outbox_backlog

        engine = create_engine(self.database_url)
        try:
            while not self._stop.is_set():
                count, _ = await outbox_backlog(engine)
                self.samples.append((time.monotonic(), count))
                await asyncio.sleep(self.every)
        finally:
            await engine.dispose()

    def drained_after(self, load_ended: float, within: float = 30) -> dict[str, float | None]:
        """Backlog max during the load, seconds from its end until the backlog was 0."""
        deadline = load_ended + within
        while time.monotonic() < deadline:
            after = [(t, n) for t, n in self.samples if t >= load_ended]
            zero = next((t for t, n in after if n == 0), None)
            if zero is not None:
                peak = max((n for _, n in self.samples), default=0)
                return {"backlog_max": peak, "drain_s": round(max(zero - load_ended, 0.0), 2)}
            time.sleep(self.every)
        return {"backlog_max": max((n for _, n in self.samples), default=0), "drain_s": None}
