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


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_concurrent_identical_requests_across_processes(tmp_path: Path, engine: str) -> None:
    """Two app instances share one database (PostgreSQL, or one SQLite file with each app's own
    writer thread and loop-thread reader): only the unique constraint can arbitrate."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}" if engine == "sqlite" else None
    async with two_processes(tmp_path, url) as processes:
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


async def test_a_key_stored_by_another_process_is_replayed_not_decided_again(
    tmp_path: Path,
) -> None:
    """Sequential, not racing: the second app has never seen the key, so only its read of the
    database can know it (no memory of keys could); the answer is the first app's, replayed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with two_processes(tmp_path, url) as processes:
        headers = {
            "Authorization": f"Bearer {processes.keys[Role.SERVICE]}",
            "Idempotency-Key": "seen-elsewhere",
        }
        first = await processes.clients[0].post("/v1/transactions", json=payment(), headers=headers)
        again = await processes.clients[1].post("/v1/transactions", json=payment(), headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        other = payment(amount_minor=9_999)
        reused = await processes.clients[1].post("/v1/transactions", json=other, headers=headers)
        assert reused.status_code == 409
        assert reused.json()["code"] == "idempotency_key_reused"
        counts = await row_counts(processes.runtimes[1].engine)
        assert counts["transactions"] == counts["decisions"] == 1 and counts["outbox"] == 2
