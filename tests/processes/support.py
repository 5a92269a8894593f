"""Real `riskops` processes for tests: started with this interpreter, found and reaped by PID."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

SRC = str(Path(__file__).resolve().parents[2] / "src")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": SRC,
        "RISKOPS_DATA_DIR": str(data_dir),
        "RISKOPS_MODEL_SERVING": "false",  # no MLflow import, no training: a quick start
        "RISKOPS_BOOTSTRAP_ADMIN_KEY": "false",
        "RISKOPS_CARD_TOKEN_SECRET": "test-card-token-secret-0123456789abcdef",
    }


def riskops(args: list[str], data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """`riskops ARGS` in a session of its own (so a test can signal its whole group)."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "riskops", *args],
            env=environment(data_dir), cwd=data_dir, stdout=sink, stderr=sink,
            start_new_session=True,
        )  # fmt: skip


def create_key(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "riskops", "keys", "create", "--role", "service"],
        env=environment(data_dir), cwd=data_dir, capture_output=True, text=True, check=True,
        timeout=120,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper has stopped running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def eventually(probe: Callable[[], T | None], within: float, what: str) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {within:.0f} s: {what}")


def healthy(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
    except OSError:
        return False
    return True


def post_payment(port: int, key: str, idempotency_key: str) -> dict[str, object]:
    body = {
        "account_id": "acct-1", "amount_minor": 2_500, "currency": "EUR",
        "card_number": "4111111111111111", "merchant_id": "m-1", "merchant_category": "5411",
        "merchant_country": "DE", "channel": "pos",
    }  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/transactions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
        },
    )
    document: dict[str, object] = json.load(urllib.request.urlopen(request, timeout=30))
    return document


def outbox_counts(data_dir: Path) -> tuple[int, int]:
    """(outbox rows, of them published) in the embedded database."""
    with sqlite3.connect(data_dir / "riskops.db", timeout=10) as db:
        total, published = db.execute("SELECT count(*), count(published_at) FROM outbox").fetchone()
    return int(total), int(published)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, within: float = 60) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    return process.wait(within)
