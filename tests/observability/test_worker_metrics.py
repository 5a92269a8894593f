"""The worker's own /metrics endpoint, on a real socket: the API's key check and error shape,
the worker's series, a clean stop, and a port already in use refused at start."""

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from riskops.auth.roles import Role
from riskops.observability.worker_metrics import MetricsEndpoint
from riskops.processes.placement import ProcessRole
from riskops.runtime import Runtime, build_runtime
from tests.conftest import create_keys, make_settings


@contextlib.asynccontextmanager
async def worker_runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(make_settings(tmp_path, database_url), role=ProcessRole.WORKER)
    try:
        await runtime.start()
        yield runtime
    finally:
        await runtime.close()


async def test_the_worker_serves_its_metrics_behind_an_api_key(
    tmp_path: Path, database_url: str
) -> None:
    async with worker_runtime(tmp_path, database_url) as runtime:
        keys = await create_keys(runtime.engine)
        endpoint = MetricsEndpoint(runtime, "127.0.0.1", 0)
        await endpoint.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{endpoint.port}") as client:
                refused = await client.get("/metrics", headers={"X-Request-ID": "scrape-1"})
                assert refused.status_code == 401
                body = refused.json()
                assert set(body) == {"code", "message", "details"}
                assert body["details"]["request_id"] == "scrape-1"
                scraped = await client.get(
                    "/metrics", headers={"Authorization": f"Bearer {keys[Role.VIEWER]}"}
                )
                assert scraped.status_code == 200
                # The series the worker's own jobs set: the relay's and the case queue's.
                for name in ("riskops_outbox_backlog", "riskops_cases_queue", "riskops_model_psi"):
                    assert f"# TYPE {name} " in scraped.text
                assert (await client.get("/health")).status_code == 200
                assert (await client.get("/docs")).status_code == 404  # metrics only
        finally:
            await endpoint.stop()
        with pytest.raises(ConnectionRefusedError):  # nothing listens once stopped
            socket.create_connection(("127.0.0.1", endpoint.port), 1).close()


async def test_a_port_in_use_is_refused_at_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        async with worker_runtime(tmp_path, url) as runtime:
            endpoint = MetricsEndpoint(runtime, "127.0.0.1", taken.getsockname()[1])
            with pytest.raises(OSError, match="in use"):
                await endpoint.start()
            await endpoint.stop()  # nothing started: a no-op
