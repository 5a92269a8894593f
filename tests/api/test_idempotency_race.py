"""N concurrent identical requests create exactly one transaction, in one process or several."""

import asyncio
from pathlib import Path

import pytest

from riskops.auth.roles import Role
from tests.conftest import Api, two_processes
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
    async with two_processes(tmp_path) as processes:
        headers = {
            "Authorization": f"Bearer {processes.keys[Role.SERVICE]}",
            "Idempotency-Key": "race-2",
        }
        responses = await asyncio.gather(
            *(
                processes.clients[i % 2].post("/v1/transactions", json=payment(), headers=headers)
                for i in range(30)
            )
        )
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        counts = await row_counts(processes.runtimes[0].engine)
        assert counts["transactions"] == counts["decisions"] == counts["ledger_entries"] == 1
        assert counts["outbox"] == 2
