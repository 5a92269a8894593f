"""`riskops serve` supervises a real worker process, and `riskops worker` relays what the API
wrote: two real processes over the embedded default (SQLite in WAL mode)."""

import contextlib
import os
import signal
import time
from pathlib import Path

from tests.processes.support import (
    alive,
    children,
    create_key,
    eventually,
    free_port,
    healthy,
    outbox_counts,
    post_payment,
    riskops,
    stop,
)

STARTUP = 120.0  # a busy 2-core machine imports the app slowly


def test_a_dead_worker_is_restarted_and_stopped_when_serve_stops(tmp_path: Path) -> None:
    port = free_port()
    serve = riskops(["serve", "--port", str(port)], tmp_path, tmp_path / "serve.log")
    try:
        first = eventually(lambda: children(serve.pid), STARTUP, "a worker process")[0]
        os.kill(first, signal.SIGKILL)
        second = eventually(
            lambda: [p for p in children(serve.pid) if p != first], 60, "a restarted worker"
        )[0]
        assert "restarting it in" in (tmp_path / "serve.log").read_text()
        eventually(lambda: healthy(port), STARTUP, "the API answering")
        running = f"worker process {second}: relay"
        eventually(lambda: running in (tmp_path / "serve.log").read_text(), STARTUP, running)
        # uvicorn re-raises the signal it handled once it shut down cleanly.
        assert stop(serve, signal.SIGTERM) in (0, -signal.SIGTERM)
        eventually(lambda: not alive(second), 5, "the worker gone after serve exited")
        log = (tmp_path / "serve.log").read_text()
        assert f"worker process {second} stopped" in log  # it shut down, not killed
        assert "Application shutdown complete" in log
    finally:
        with contextlib.suppress(ProcessLookupError):
            stop(serve, signal.SIGKILL)


def test_a_killed_serve_leaves_no_worker_behind(tmp_path: Path) -> None:
    serve = riskops(["serve", "--port", str(free_port())], tmp_path, tmp_path / "serve.log")
    worker = eventually(lambda: children(serve.pid), STARTUP, "a worker process")[0]
    # Let the worker reach its parent watch (it imports the app first).
    running = f"worker process {worker}: relay"
    eventually(lambda: running in (tmp_path / "serve.log").read_text(), STARTUP, running)
    stop(serve, signal.SIGKILL)  # the whole process group, no chance to clean up
    eventually(lambda: not alive(worker), 15, "the orphaned worker stopping on its own")


def test_the_worker_relays_what_the_api_process_wrote(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    port = free_port()
    api = riskops(["serve", "--api-only", "--port", str(port)], tmp_path, tmp_path / "api.log")
    worker = None
    try:
        eventually(lambda: healthy(port), STARTUP, "the API answering")
        post_payment(port, key, "pay-1")
        total, published = outbox_counts(tmp_path)
        assert total >= 2 and published == 0
        time.sleep(1.5)  # the API process has no relay: nothing is published meanwhile
        assert outbox_counts(tmp_path) == (total, 0)
        worker = riskops(["worker"], tmp_path, tmp_path / "worker.log")
        eventually(lambda: outbox_counts(tmp_path) == (total, total), STARTUP, "events relayed")
        post_payment(port, key, "pay-2")  # while both run, in well under a second
        started = time.monotonic()
        eventually(
            lambda: (c := outbox_counts(tmp_path))[0] > total and c[0] == c[1], 10, "relayed"
        )
        assert time.monotonic() - started < 2.0
        assert stop(worker) == 0
        assert "worker process" in (tmp_path / "worker.log").read_text()
    finally:
        for process in (worker, api):
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop(process, signal.SIGKILL)
