"""Building blocks for case tests: review payments and the cases they open."""

from typing import Any

import httpx

from riskops.auth.roles import Role
from tests.conftest import Api
from tests.payments import new_key, payment


async def pay(api: Api, **overrides: Any) -> dict[str, Any]:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    response = await api.client.post("/v1/transactions", json=payment(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


async def queue(api: Api, role: Role = Role.VIEWER, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/cases", params=params, headers=api.as_role(role))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def review_case(api: Api, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A review payment and the case the cases consumer opened for it."""
    paid = await pay(api, **overrides)
    assert paid["decision"]["status"] == "review"
    await api.runtime.events.drain()
    for case in await queue(api):
        detail = await api.client.get(f"/v1/cases/{case['id']}", headers=api.as_role(Role.VIEWER))
        if paid["id"] in {t["id"] for t in detail.json()["transactions"]}:
            return paid, detail.json()
    raise AssertionError(f"no case holds {paid['id']}")


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error shape, with this status and code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    return body
