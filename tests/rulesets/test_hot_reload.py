"""Hot reload: an approval reaches every API process within two seconds, without a restart."""

import asyncio
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from riskops.auth.roles import Role
from riskops.rules import default_ruleset_path
from riskops.runtime import Runtime
from tests.conftest import Api, two_processes
from tests.payments import new_key, payment
from tests.rulesets.support import BIG, active_rules

RELOAD_SECONDS = 2.0


async def until_version(runtime: Runtime, version: str) -> float:
    """Seconds until `runtime` decides with `version` (fails after RELOAD_SECONDS)."""
    began = time.perf_counter()
    async with asyncio.timeout(RELOAD_SECONDS):
        while runtime.pipeline.rules.ruleset.version != version:
            await asyncio.sleep(0.02)
    return time.perf_counter() - began


async def large_payment(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(
        "/v1/transactions",
        json=payment(amount_minor=30_000),
        headers={**headers, "Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    decision: dict[str, Any] = response.json()["decision"]
    return decision


async def approve_big_rule(client: Any, keys: dict[Role, str], rules: list[Any]) -> None:
    def auth(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}"}

    created = await client.post(
        "/v1/rulesets/drafts", json={"rules": [*rules, BIG]}, headers=auth(Role.ANALYST)
    )
    draft_id = created.json()["id"]
    await client.post(f"/v1/rulesets/drafts/{draft_id}/submit", headers=auth(Role.ANALYST))
    approved = await client.post(
        f"/v1/rulesets/drafts/{draft_id}/approve", headers=auth(Role.APPROVER)
    )
    assert approved.status_code == 200, approved.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_embedded_default_decides_with_an_approved_version_within_two_seconds(
    api: Api,
) -> None:
    service = api.as_role(Role.SERVICE)
    before = await large_payment(api.client, service)
    assert before["ruleset_version"] == "1" and "LARGE_AMOUNT" not in before["reason_codes"]
    await approve_big_rule(api.client, api.keys, await active_rules(api))
    await until_version(api.runtime, "2")
    after = await large_payment(api.client, service)
    assert after["ruleset_version"] == "2"
    assert (after["status"], after["reason_codes"][-1]) == ("decline", "LARGE_AMOUNT")


@pytest.mark.postgres
async def test_two_api_processes_on_postgres_both_follow_an_approval(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as processes:
        first, second = processes.clients
        headers = {"Authorization": f"Bearer {processes.keys[Role.VIEWER]}"}
        rules = (await first.get("/v1/rulesets/active", headers=headers)).json()["rules"]
        await approve_big_rule(first, processes.keys, rules)
        waited = await asyncio.gather(*(until_version(r, "2") for r in processes.runtimes))
        assert max(waited) <= RELOAD_SECONDS
        service = {"Authorization": f"Bearer {processes.keys[Role.SERVICE]}"}
        decision = await large_payment(second, service)
        assert (decision["ruleset_version"], decision["status"]) == ("2", "decline")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.settings(ruleset_path=default_ruleset_path())
async def test_an_explicit_ruleset_file_pins_the_process(api: Api) -> None:
    pinned = tomllib.loads(default_ruleset_path().read_text())["version"]
    assert api.runtime.pipeline.rules.ruleset.version == pinned
    await approve_big_rule(api.client, api.keys, await active_rules(api))
    await asyncio.sleep(1.2)  # more than two polls
    assert api.runtime.pipeline.rules.ruleset.version == pinned
