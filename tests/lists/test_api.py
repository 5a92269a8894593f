"""Lists over HTTP: roles, validation that changes nothing, audit, and effect on decisions."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskops.auth.roles import Role
from riskops.decisions.cards import tokenise
from tests.conftest import Api, two_processes
from tests.payments import CARD, OTHER_CARD, all_stored_text, new_key, payment

SECRET = b"test-card-token-secret-0123456789abcdef"  # make_settings' card_token_secret


async def decide(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> Any:
    response = await client.post(
        "/v1/transactions",
        json=payment(**fields),
        headers={**headers, "Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    return response.json()["decision"]


async def until_reason(
    client: httpx.AsyncClient, headers: dict[str, str], reason: str, present: bool, **fields: Any
) -> float:
    """Seconds until a payment's decision has (or lacks) `reason`; fails after 2 s."""
    started = time.monotonic()
    while True:
        decision = await decide(client, headers, **fields)
        if (reason in decision["reason_codes"]) is present:
            return time.monotonic() - started
        assert time.monotonic() - started < 2.0, f"{reason} still {not present} after 2 s"
        await asyncio.sleep(0.1)


async def test_the_shipped_lists_exist_empty_and_viewers_read_them(api: Api) -> None:
    response = await api.client.get("/v1/lists", headers=api.as_role(Role.VIEWER))

    assert response.status_code == 200
    lists = {item["name"]: item for item in response.json()}
    assert set(lists) == {"blocked_cards", "blocked_devices", "blocked_ips", "trusted_merchants"}
    assert {item["entries"] for item in lists.values()} == {0}
    assert lists["blocked_ips"]["kind"] == "ip"


async def test_roles(api: Api) -> None:
    body = {"name": "watch_emails", "kind": "email", "purpose": "watch", "description": "d"}
    viewer = await api.client.post("/v1/lists", json=body, headers=api.as_role(Role.VIEWER))
    service = await api.client.post("/v1/lists", json=body, headers=api.as_role(Role.SERVICE))
    created = await api.client.post("/v1/lists", json=body, headers=api.as_role(Role.ANALYST))
    again = await api.client.post("/v1/lists", json=body, headers=api.as_role(Role.APPROVER))
    entry = {"values": ["A@Example.com"], "reason": "r"}
    path = "/v1/lists/watch_emails/entries"
    viewer_add = await api.client.post(path, json=entry, headers=api.as_role(Role.VIEWER))
    anonymous = await api.client.get("/v1/lists")

    assert (viewer.status_code, service.status_code) == (403, 403)
    assert viewer.json()["code"] == "forbidden"
    assert created.status_code == 201
    assert (again.status_code, again.json()["code"]) == (409, "list_exists")
    assert viewer_add.status_code == 403
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bad Name", "kind": "card", "purpose": "block"},
        {"name": "x", "kind": "phone", "purpose": "block"},
        {"name": "x", "kind": "card", "purpose": "maybe"},
        {"name": "x", "kind": "card", "purpose": "block", "extra": 1},
    ],
)
async def test_bad_lists_are_422_in_the_one_shape(api: Api, body: dict[str, Any]) -> None:
    response = await api.client.post("/v1/lists", json=body, headers=api.as_role(Role.ANALYST))

    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "details"}


async def test_cards_are_stored_as_tokens_only(api: Api) -> None:
    headers = api.as_role(Role.ANALYST)
    added = await api.client.post(
        "/v1/lists/blocked_cards/entries",
        json={"values": [CARD, CARD], "reason": "reported stolen"},
        headers=headers,
    )
    listed = await api.client.get("/v1/lists/blocked_cards/entries", headers=headers)

    token = tokenise(CARD, SECRET).token
    assert added.status_code == 201, added.text
    assert added.json() == {"list": "blocked_cards", "added": [token], "renewed": []}
    assert [item["value"] for item in listed.json()["items"]] == [token]
    assert CARD not in await all_stored_text(api.runtime.engine)


async def test_one_bad_value_refuses_all_and_names_it_without_echoing_cards(api: Api) -> None:
    headers = api.as_role(Role.ANALYST)
    refused = await api.client.post(
        "/v1/lists/blocked_cards/entries",
        json={"values": [OTHER_CARD, "4111111111111112"], "reason": "r"},
        headers=headers,
    )
    ips = await api.client.post(
        "/v1/lists/blocked_ips/entries",
        json={"values": ["10.0.0.0/8", "10.0.0.300"], "reason": "r"},
        headers=headers,
    )
    listed = await api.client.get("/v1/lists", headers=headers)

    assert refused.status_code == 422
    assert refused.json()["code"] == "list_entries_invalid"
    assert refused.json()["details"]["errors"] == [
        {"index": 1, "reason": "not a valid card number (12-19 digits passing the Luhn check)"}
    ]
    assert "4111111111111112" not in refused.text
    assert ips.status_code == 422 and ips.json()["details"]["errors"][0]["index"] == 1
    assert {item["entries"] for item in listed.json()} == {0}


async def test_unknown_list_and_entry_are_404(api: Api) -> None:
    headers = api.as_role(Role.ANALYST)
    entries = await api.client.get("/v1/lists/nope/entries", headers=headers)
    add = await api.client.post(
        "/v1/lists/nope/entries", json={"values": ["x"], "reason": "r"}, headers=headers
    )
    remove = await api.client.delete("/v1/lists/blocked_devices/entries/dev-9", headers=headers)

    assert (entries.status_code, entries.json()["code"]) == (404, "list_not_found")
    assert add.status_code == 404
    assert (remove.status_code, remove.json()["code"]) == (404, "list_entry_not_found")


async def test_list_changes_decide_within_two_seconds_and_are_audited(api: Api) -> None:
    analyst, service = api.as_role(Role.ANALYST), api.as_role(Role.SERVICE)
    before = await decide(api.client, service, ip="203.0.113.9")
    assert "BLOCKED_IP" not in before["reason_codes"]

    added = await api.client.post(
        "/v1/lists/blocked_ips/entries",
        json={"values": ["203.0.113.0/24"], "reason": "abusive range"},
        headers=analyst,
    )
    assert added.json()["added"] == ["203.0.113.0/24"]
    await until_reason(api.client, service, "BLOCKED_IP", True, ip="203.0.113.9")
    blocked = await decide(api.client, service, ip="203.0.113.200")
    elsewhere = await decide(api.client, service, ip="203.0.114.1")

    removed = await api.client.delete(
        "/v1/lists/blocked_ips/entries/203.0.113.0/24", headers=analyst
    )
    assert removed.status_code == 204
    await until_reason(api.client, service, "BLOCKED_IP", False, ip="203.0.113.9")

    assert (blocked["status"], blocked["reason_codes"][0]) == ("decline", "BLOCKED_IP")
    assert "BLOCKED_IP" not in elsewhere["reason_codes"]
    audit = await api.client.get(
        "/v1/admin/audit", params={"target": "list:blocked_ips"}, headers=api.as_role(Role.ADMIN)
    )
    actions = [(e["action"], e["before"], e["after"]) for e in audit.json()["items"]]
    assert [a for a, _, _ in actions] == ["list.entry_removed", "list.entries_added"]
    assert actions[0][1]["value"] == "203.0.113.0/24" and actions[0][2] is None
    assert actions[1][2]["added"] == ["203.0.113.0/24"]


async def test_a_blocked_card_declines(api: Api) -> None:
    analyst, service = api.as_role(Role.ANALYST), api.as_role(Role.SERVICE)
    await api.client.post(
        "/v1/lists/blocked_cards/entries",
        json={"values": [OTHER_CARD], "reason": "stolen"},
        headers=analyst,
    )

    await until_reason(api.client, service, "BLOCKED_CARD", True, card_number=OTHER_CARD)
    other = await decide(api.client, service)
    assert "BLOCKED_CARD" not in other["reason_codes"]


@pytest.mark.postgres
async def test_a_change_in_one_process_reaches_the_other(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as processes:
        analyst = {"Authorization": f"Bearer {processes.keys[Role.ANALYST]}"}
        service = {"Authorization": f"Bearer {processes.keys[Role.SERVICE]}"}
        first, second = processes.clients
        response = await first.post(
            "/v1/lists/blocked_devices/entries",
            json={"values": ["dev-farm"], "reason": "fraud farm"},
            headers=analyst,
        )
        assert response.status_code == 201

        seconds = await until_reason(second, service, "BLOCKED_DEVICE", True, device_id="dev-farm")
        assert seconds < 2.0


async def test_an_expired_entry_stops_counting_without_another_change(api: Api) -> None:
    analyst, service = api.as_role(Role.ANALYST), api.as_role(Role.SERVICE)
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    response = await api.client.post(
        "/v1/lists/blocked_devices/entries",
        json={"values": ["dev-brief"], "reason": "for a moment", "expires_at": expires.isoformat()},
        headers=analyst,
    )
    assert response.status_code == 201, response.text
    await until_reason(api.client, service, "BLOCKED_DEVICE", True, device_id="dev-brief")

    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()))
    await until_reason(api.client, service, "BLOCKED_DEVICE", False, device_id="dev-brief")
    past = await api.client.post(
        "/v1/lists/blocked_devices/entries",
        json={"values": ["dev-x"], "reason": "r", "expires_at": "2020-01-01T00:00:00Z"},
        headers=analyst,
    )
    assert (past.status_code, past.json()["code"]) == (422, "list_entries_invalid")
