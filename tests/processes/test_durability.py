"""Every answered decision is stored: an API process killed mid-load loses none it answered.

The decision writer commits through a SQLite connection and thread of its own (no pool); this
kills the real process while payments are in flight and reads the file it left behind.
"""

import contextlib
import signal
import sqlite3
import threading
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.processes.support import (
    create_key,
    eventually,
    free_port,
    healthy,
    post_payment,
    riskops,
    stop,
)

STARTUP = 120.0


def test_a_killed_api_process_keeps_every_decision_it_answered(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    port = free_port()
    api = riskops(["serve", "--api-only", "--port", str(port)], tmp_path, tmp_path / "api.log")
    answered: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def pay(n: int) -> None:
        try:
            document = post_payment(port, key, f"pay-{n}")
        except (urllib.error.URLError, ConnectionError, OSError):
            return  # in flight when the process died: never answered, so never promised
        with lock:
            answered.append(str(document["id"]))
            if len(answered) >= 30:
                enough.set()

    try:
        eventually(lambda: healthy(port), STARTUP, "the API answering")
        with ThreadPoolExecutor(8) as pool:
            for n in range(400):
                pool.submit(pay, n)
            assert enough.wait(120), "30 payments were not answered"
            stop(api, signal.SIGKILL)  # no shutdown: nothing gets flushed on the way out
    finally:
        with contextlib.suppress(ProcessLookupError):
            stop(api, signal.SIGKILL)
    assert len(answered) >= 30
    with sqlite3.connect(tmp_path / "riskops.db", timeout=10) as db:
        marks = ", ".join("?" * len(answered))
        count = lambda sql: db.execute(sql.format(marks), answered).fetchone()[0]  # noqa: E731
        assert count("SELECT count(*) FROM transactions WHERE id IN ({})") == len(answered)
        assert count("SELECT count(*) FROM decisions WHERE transaction_id IN ({})") == len(answered)
        assert count("SELECT count(*) FROM decision_audits WHERE transaction_id IN ({})") == len(
            answered
        )
