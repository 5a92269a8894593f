"""The worker's own /metrics endpoint, on a real socket: the API's key check and error shape,
the worker's series, a clean stop, and a port already in use refused at start."""

import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from riskops.auth.roles import Role
from riskops.core.ids import new_id
from riskops.db import transaction
from riskops.ml.service import store_drift
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


def drift_report(end: datetime) -> dict[str, object]:
    return {
        "id": new_id(), "model_name": "fraud", "model_version": "worker-7",
        "window_start": end - timedelta(hours=24), "window_end": end, "rows": 500,
        "score_psi": 0.05, "max_psi": 0.41, "max_psi_feature": "amount",
        "features_psi": {"amount": 0.41}, "created_at": end,
    }  # fmt: skip


async def test_the_worker_serves_its_metrics_behind_an_api_key(
    tmp_path: Path, database_url: str
) -> None:
    async with worker_runtime(tmp_path, database_url) as runtime:
        keys = await create_keys(runtime.engine)
        # What the worker's drift job stores for a champion: its PSI gauges are set here.
        end = datetime.now(UTC)
        async with transaction(runtime.engine) as connection:
            await store_drift(connection, drift_report(end))
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
                psi = 'riskops_model_psi{model="fraud",variable="amount",version="worker-7"} 0.41'
                assert psi in scraped.text.replace(", ", ",")
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
