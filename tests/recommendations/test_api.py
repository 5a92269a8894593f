"""The recommendation queue over HTTP: list with filters and pages, read, acknowledge (with a
case, with a list entry, each audited as the analyst's action), reject with a reason; roles on
every endpoint; the one error shape."""

from datetime import timedelta
from typing import Any

import pytest

from riskops.auth.roles import Role
from tests.cases.support import error_of
from tests.conftest import Api
from tests.recommendations.history import SETTINGS, card, label, paid, scanned

pytestmark = pytest.mark.settings(**SETTINGS)
MISSING = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
DAY = timedelta(days=1)


async def crafted_queue(api: Api) -> dict[str, str]:
    """A merchant with known fraud and a card-testing ring, scanned: pattern -> entry id."""
    merchant = [await paid(api, DAY * (3 - i), merchant_id="m-bad", card_number=card(i))
                for i in range(3)]  # fmt: skip
    for payment in merchant[:2]:
        await label(api, payment["id"], timedelta(hours=1))
    for i in range(6):
        await paid(api, timedelta(minutes=40 - i), card_number=card(10 + i % 3),
                   account_id="acct-ring", device_id="dev-ring", amount_minor=150,
                   merchant_id=f"m-{i}")  # fmt: skip
    await scanned(api)
    listing = await get(api, "/v1/recommendations")
    return {item["pattern"]: item["id"] for item in listing["items"]}


async def get(api: Api, path: str, role: Role = Role.VIEWER, **params: Any) -> dict[str, Any]:
    response = await api.client.get(path, params=params, headers=api.as_role(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit_of(api: Api, target: str) -> list[dict[str, Any]]:
    found = await get(api, "/v1/admin/audit", Role.ADMIN, target=target)
    items: list[dict[str, Any]] = found["items"]
    return items


async def test_the_queue_lists_by_priority_filters_and_pages(api: Api) -> None:
    entries = await crafted_queue(api)
    assert set(entries) == {"merchant_confirmed_fraud", "card_testing_ring"}
    items = (await get(api, "/v1/recommendations"))["items"]
    assert [i["priority"] for i in items] == sorted((i["priority"] for i in items), reverse=True)
    ring = next(i for i in items if i["pattern"] == "card_testing_ring")
    assert ring["entity"] == {"kind": "device", "id": "dev-ring"}
    assert ring["status"] == "open" and ring["suggestion"] == "block_list_entry"
    assert ring["list_name"] == "blocked_devices" and len(ring["evidence"]["transaction_ids"]) == 6
    only = await get(api, "/v1/recommendations", pattern="merchant_confirmed_fraud")
    assert [i["id"] for i in only["items"]] == [entries["merchant_confirmed_fraud"]]
    devices = await get(api, "/v1/recommendations", entity_kind="device")
    assert [i["id"] for i in devices["items"]] == [entries["card_testing_ring"]]
    assert (await get(api, "/v1/recommendations", status="rejected"))["items"] == []
    high = await get(api, "/v1/recommendations", min_priority=100)
    assert all(i["priority"] >= 100 for i in high["items"])
    first = await get(api, "/v1/recommendations", limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = await get(api, "/v1/recommendations", limit=1, cursor=first["next_cursor"])
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in items]
    assert second["next_cursor"] is None
    one = await get(api, f"/v1/recommendations/{ring['id']}")
    assert one == ring


async def test_ack_opens_a_case_and_applies_the_list_entry_as_the_analysts_action(
    api: Api,
) -> None:
    entries = await crafted_queue(api)
    ring = entries["card_testing_ring"]
    response = await api.client.post(
        f"/v1/recommendations/{ring}/ack",
        json={"open_case": True, "apply_list_entry": True, "note": "tester behind it"},
        headers=api.as_role(Role.ANALYST),
    )
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "acknowledged" and done["acted_by_name"] == "test analyst"
    assert (
        done["case_id"]
        and done["list_entry"] == "dev-ring"
        and done["reason"] == "tester behind it"
    )
    case = await get(api, f"/v1/cases/{done['case_id']}")
    assert case["source"] == "manual" and done["transaction_id"] in {
        t["id"] for t in case["transactions"]
    }
    entries_of = await get(api, "/v1/lists/blocked_devices/entries")
    assert [e["value"] for e in entries_of["items"]] == ["dev-ring"]
    analyst_key = next(
        i for i in (await get(api, "/v1/recommendations", status="acknowledged"))["items"]
    )["acted_by"]
    for target, action in (
        (f"recommendation:{ring}", "recommendation.acknowledged"),
        (f"case:{done['case_id']}", "case.opened"),
        ("list:blocked_devices", "list.entries_added"),
    ):
        rows = await audit_of(api, target)
        assert [r["action"] for r in rows] == [action], rows
        assert rows[0]["actor"] == analyst_key
    # Acting twice is a conflict in the one error shape.
    again = await api.client.post(
        f"/v1/recommendations/{ring}/reject",
        json={"reason": "x"},
        headers=api.as_role(Role.ANALYST),
    )
    body = error_of(again, 409, "recommendation_closed")
    assert body["details"]["request_id"]


async def test_ack_of_a_merchant_creates_the_watch_list_on_first_use(api: Api) -> None:
    entries = await crafted_queue(api)
    response = await api.client.post(
        f"/v1/recommendations/{entries['merchant_confirmed_fraud']}/ack",
        json={"apply_list_entry": True},
        headers=api.as_role(Role.APPROVER),
    )
    assert response.status_code == 200, response.text
    assert response.json()["list_entry"] == "m-bad" and response.json()["case_id"] is None
    watched = await get(api, "/v1/lists/watched_merchants/entries")
    assert [e["value"] for e in watched["items"]] == ["m-bad"]
    actions = [r["action"] for r in await audit_of(api, "list:watched_merchants")]
    assert sorted(actions) == ["list.created", "list.entries_added"]


async def test_reject_needs_a_reason_and_is_kept(api: Api) -> None:
    entries = await crafted_queue(api)
    ring = entries["card_testing_ring"]
    for body in ({}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": "ok", "extra": 1}):
        response = await api.client.post(
            f"/v1/recommendations/{ring}/reject", json=body, headers=api.as_role(Role.ANALYST)
        )
        problem = error_of(response, 422, "validation_error")
        assert problem["details"]["request_id"]
    response = await api.client.post(
        f"/v1/recommendations/{ring}/reject",
        json={"reason": "the QA team's device"},
        headers=api.as_role(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    kept = await get(api, f"/v1/recommendations/{ring}")
    assert kept["status"] == "rejected" and kept["reason"] == "the QA team's device"
    rows = await audit_of(api, f"recommendation:{ring}")
    assert [r["action"] for r in rows] == ["recommendation.rejected"]


async def test_roles_on_every_endpoint(api: Api) -> None:
    entries = await crafted_queue(api)
    ring, merchant = entries["card_testing_ring"], entries["merchant_confirmed_fraud"]
    for role in Role:  # everyone with a key reads
        await get(api, "/v1/recommendations", role)
        await get(api, f"/v1/recommendations/{ring}", role)
    for role in (Role.VIEWER, Role.SERVICE):
        for path, body in ((f"/v1/recommendations/{ring}/ack", {}),
                           (f"/v1/recommendations/{ring}/reject", {"reason": "no"})):  # fmt: skip
            response = await api.client.post(path, json=body, headers=api.as_role(role))
            error_of(response, 403, "forbidden")
    assert (await get(api, f"/v1/recommendations/{ring}"))["status"] == "open"
    no_key = await api.client.get("/v1/recommendations")
    error_of(no_key, 401, "unauthorized")
    # Analysts, approvers and admins act.
    for role, (target, path, body) in zip(
        (Role.ANALYST, Role.APPROVER),
        ((ring, "ack", {}), (merchant, "reject", {"reason": "known"})),
        strict=True,
    ):
        response = await api.client.post(
            f"/v1/recommendations/{target}/{path}", json=body, headers=api.as_role(role)
        )
        assert response.status_code == 200, response.text


async def test_bad_ids_and_filters_are_refused_in_the_one_error_shape(api: Api) -> None:
    for path in ("/v1/recommendations/not-an-id", "/v1/recommendations/not-an-id/ack"):
        method = api.client.get if path.endswith("id") else api.client.post
        response = await method(path, headers=api.as_role(Role.ANALYST))
        error_of(response, 422, "validation_error")
    missing = await api.client.get(
        f"/v1/recommendations/{MISSING}", headers=api.as_role(Role.VIEWER)
    )
    assert error_of(missing, 404, "not_found")["details"]["recommendation_id"] == MISSING
    missing_ack = await api.client.post(
        f"/v1/recommendations/{MISSING}/ack", json={}, headers=api.as_role(Role.ANALYST)
    )
    error_of(missing_ack, 404, "not_found")
    for params in ({"status": "maybe"}, {"entity_kind": "planet"}, {"min_priority": 101},
                   {"limit": 0}, {"limit": 10**9}, {"pattern": "DROP TABLE"}):  # fmt: skip
        response = await api.client.get(
            "/v1/recommendations", params=params, headers=api.as_role(Role.VIEWER)
        )
        problem = error_of(response, 422, "validation_error")
        assert problem["details"]["request_id"]
    bad_cursor = await api.client.get(
        "/v1/recommendations", params={"cursor": "bm9wZQ"}, headers=api.as_role(Role.VIEWER)
    )
    error_of(bad_cursor, 400, "bad_request")
