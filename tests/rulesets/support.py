"""Helpers of the ruleset tests: a candidate ruleset, and the workflow's steps over HTTP."""

from typing import Any

from riskops.auth.roles import Role
from tests.conftest import Api

BIG = {
    "id": "big_amount",
    "name": "Large payment",
    "description": "Payments above 220.00",
    "expression": "amount_minor > 22000",
    "action": "decline",
    "reason_code": "LARGE_AMOUNT",
    "severity": "high",
    "mode": "active",
}


async def active_rules(api: Api) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/rulesets/active", headers=api.as_role(Role.VIEWER))
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["rules"]
    return rules


async def draft(api: Api, rules: list[dict[str, Any]], role: Role = Role.ANALYST) -> dict[str, Any]:
    response = await api.client.post(
        "/v1/rulesets/drafts",
        json={"rules": rules, "comment": "test"},
        headers=api.as_role(role),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def submitted(api: Api, rules: list[dict[str, Any]]) -> dict[str, Any]:
    created = await draft(api, rules)
    response = await api.client.post(
        f"/v1/rulesets/drafts/{created['id']}/submit", headers=api.as_role(Role.ANALYST)
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending_approval"
    return created
