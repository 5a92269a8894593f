"""N concurrent identical requests create exactly one transaction, in one process or several."""

import asyncio
from pathlib import Path

import httpx
import pytest

from riskops.app import create_app
from riskops.auth.roles import Role
from tests.conftest import Api, create_keys, fresh_postgres_database, make_settings
from tests.payments import payment, row_counts


async def test_concurrent_identical_requests_in_one_process(api: Api) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": "race-1"}
    responses = await asyncio.gather(
        *(api.client.post("/v1/transactions", json=payment(), headers=headers) for _ in range(25))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 24
    counts = await row_counts(api.runtime.engine)
    assert counts["transactions"] == counts["decisions"] == 1 and counts["outbox"] == 2


@pytest.mark.postgres
async def test_concurrent_identical_requests_across_processes(tmp_path: Path) -> None:
    """Two app instances share one PostgreSQL: only the unique constraint can arbitrate."""
    async with fresh_postgres_database() as url:
        apps = [create_app(make_settings(tmp_path / f"p{i}", url)) for i in range(2)]
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            keys = await create_keys(apps[0].state.runtime.engine)
            headers = {"Authorization": f"Bearer {keys[Role.SERVICE]}", "Idempotency-Key": "race-2"}
            clients = [
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
                for app in apps
            ]
            try:
                responses = await asyncio.gather(
                    *(
                        clients[i % 2].post("/v1/transactions", json=payment(), headers=headers)
                        for i in range(30)
                    )
                )
            finally:
                for client in clients:
                    await client.aclose()
            assert {r.status_code for r in responses} == {201}
            assert len({r.json()["id"] for r in responses}) == 1
            counts = await row_counts(apps[0].state.runtime.engine)
            assert counts["transactions"] == counts["decisions"] == counts["ledger_entries"] == 1
            assert counts["outbox"] == 2
