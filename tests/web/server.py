"""A real console server for browser tests: uvicorn in a subprocess on a free port."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from riskops.auth.roles import Role
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from tests.conftest import create_keys

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveServer:
    url: str
    keys: dict[Role, str]
    data_dir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _prepare(database_url: str) -> dict[Role, str]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        return await create_keys(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def live_server(data_dir: Path, **settings: str) -> Iterator[LiveServer]:
    """Migrate, create one key per role, start the app and wait until it answers.

    `settings` are extra RISKOPS_<NAME> values for the server (e.g. model_bootstrap="false").
    """
    database_url = f"sqlite+aiosqlite:///{data_dir / 'riskops.db'}"
    # In a thread of its own: the test session may already run an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        keys = pool.submit(asyncio.run, _prepare(database_url)).result()
    port = free_port()
    env = {
        **os.environ,
        "RISKOPS_DATA_DIR": str(data_dir),
        "RISKOPS_DATABASE_URL": database_url,
        "RISKOPS_CARD_TOKEN_SECRET": "browser-test-card-token-secret-0123456789",
        "RISKOPS_BOOTSTRAP_ADMIN_KEY": "false",
        "RISKOPS_ENVIRONMENT": "development",
        **{f"RISKOPS_{name.upper()}": value for name, value in settings.items()},
    }
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "riskops.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--timeout-graceful-shutdown", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # importing the ML stack alone takes ~10 s here
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server did not start: {(data_dir / 'server.log').read_text()}"
                )
            time.sleep(0.1)
        yield LiveServer(url, keys, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
