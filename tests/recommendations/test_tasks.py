"""The scan as background work: it runs every interval in the process that runs scheduled
jobs (never the API-only process), writes what it finds, and stops within its deadline."""

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from riskops.auth.roles import Role
from riskops.processes.placement import ProcessRole
from riskops.runtime import build_runtime
from tests.conftest import Api, make_settings
from tests.recommendations.history import SETTINGS, card, label, paid

DAY = timedelta(days=1)


@pytest.mark.settings(**{**SETTINGS, "recommendation_scan_enabled": True,
                         "recommendation_scan_interval": 0.2})  # fmt: skip
async def test_the_scan_runs_on_its_interval_and_stops_within_its_deadline(api: Api) -> None:
    scanner = api.runtime.recommendations
    assert scanner.running and scanner.interval == pytest.approx(0.2)
    bad = [await paid(api, DAY * (3 - i), merchant_id="m-bad", card_number=card(i))
           for i in range(3)]  # fmt: skip
    for payment in bad[:2]:
        await label(api, payment["id"], timedelta(hours=1))
    async with asyncio.timeout(20):
        while True:
            response = await api.client.get("/v1/recommendations", headers=api.as_role(Role.VIEWER))
            if response.json()["items"]:
                break
            await asyncio.sleep(0.1)
    assert response.json()["items"][0]["entity"] == {"kind": "merchant", "id": "m-bad"}
    scans = scanner.scans
    await asyncio.sleep(0.6)
    assert scanner.scans > scans  # it keeps scanning; the entry is not duplicated
    assert (
        len(
            (await api.client.get("/v1/recommendations", headers=api.as_role(Role.VIEWER))).json()[
                "items"
            ]
        )
        == 1
    )
    started = time.perf_counter()
    assert await scanner.stop(deadline=1.0) == []
    assert time.perf_counter() - started < 1.5 and not scanner.running


async def test_the_scan_runs_in_the_worker_and_never_in_the_api_only_process(
    tmp_path: Path,
) -> None:
    for role, runs in ((ProcessRole.WORKER, True), (ProcessRole.API, False)):
        settings = make_settings(tmp_path / role.value, run_workers=False)
        runtime = await build_runtime(settings, role=role)
        try:
            await runtime.start()
            assert runtime.recommendations.running is runs
            assert runtime.recommendations.interval == 60.0
        finally:
            await runtime.close()
        assert not runtime.recommendations.running
