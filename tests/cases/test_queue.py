"""The queue: filters, both orders, keyset pages; roles on every case endpoint; the claim
race across two processes on PostgreSQL; entity views."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from riskops.auth.roles import Role
from riskops.cases.models import Case
from riskops.db import transaction
from riskops.db.base import table_of
from tests.cases.support import error_of, pay, queue, review_case
from tests.conftest import Api, two_processes
from tests.payments import payment

pytestmark = pytest.mark.settings(review_threshold=0.0, case_join_window=0)
CARDS = ["4111111111111111", "5555555555554444", "4012888888881881", "378282246310005"]


async def test_filters_orders_and_pages(api: Api) -> None:
    amounts = [1_000, 90_000, 5_000, 40_000]
    for card, amount in zip(CARDS, amounts, strict=True):
        await pay(
            api, card_number=card, amount_minor=amount, channel="ecom" if amount > 9_000 else "pos"
        )
    await api.runtime.events.drain()
    by_priority = await queue(api)
    # Expected loss first: score x amount (scores differ by payment), ties by id.
    priorities = [c["priority"] for c in by_priority]
    assert len(set(priorities)) == 4 and priorities == sorted(priorities, reverse=True)
    assert all(
        c["priority"] == pytest.approx(max(c["score"], 0.1) * c["amount_minor"] / 100)
        for c in by_priority
    )
    oldest_first = await queue(api, sort="age")
    assert [c["amount_minor"] for c in oldest_first] == amounts
    due_first = await queue(api, sort="sla")
    assert [c["sla_due_at"] for c in due_first] == sorted(c["sla_due_at"] for c in due_first)
    assert [c["id"] for c in due_first] == [c["id"] for c in oldest_first]  # one SLA for all
    assert [c["amount_minor"] for c in await queue(api, min_amount=5_000, max_amount=50_000)] == [
        40_000, 5_000,
    ]  # fmt: skip
    assert {c["channel"] for c in await queue(api, channel="ecom")} == {"ecom"}
    assert len(await queue(api, country="DE")) == 4 and await queue(api, country="FR") == []
    assert await queue(api, min_age_hours=1) == [] and len(await queue(api, max_age_hours=1)) == 4
    assert await queue(api, status="closed") == [] and len(await queue(api, status="open")) == 4

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (
            await api.client.get("/v1/cases", params=params, headers=api.as_role(Role.VIEWER))
        ).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in by_priority]
    age_cursor = (
        await api.client.get(
            "/v1/cases", params={"limit": 1, "sort": "age"}, headers=api.as_role(Role.VIEWER)
        )
    ).json()["next_cursor"]
    error_of(
        await api.client.get(
            "/v1/cases", params={"cursor": age_cursor}, headers=api.as_role(Role.VIEWER)
        ),
        400,
        "bad_request",
    )  # a cursor of the other order


async def test_reason_code_and_assignee_filters(api: Api) -> None:
    _, case = await review_case(api)
    codes = case["reason_codes"]
    analyst = api.as_role(Role.ANALYST)
    await api.client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": "alice"}, headers=analyst
    )
    assert [c["id"] for c in await queue(api, assignee="alice")] == [case["id"]]
    assert await queue(api, assignee="bob") == []
    assert await queue(api, reason_code="NO_SUCH_CODE") == []
    if codes:
        assert [c["id"] for c in await queue(api, reason_code=codes[0])] == [case["id"]]
    async with transaction(api.runtime.engine) as connection:
        await connection.execute(
            update(table_of(Case))
            .where(table_of(Case).c.id == case["id"])
            .values(reason_codes=["NEW_COUNTRY_HIGH_AMOUNT", "CARD_TESTING"])
        )
    for code, found in (
        ("NEW_COUNTRY_HIGH_AMOUNT", True),
        ("CARD_TESTING", True),
        ("NEW_COUNTRY", False),  # whole codes only
        ("NEW_COUNTRY_HIGH_AMOUN_", False),  # `_` is a LIKE wildcard: here it is only itself
        ("NEW.COUNTRY_HIGH_AMOUNT", False),
    ):
        assert bool(await queue(api, reason_code=code)) is found, code


async def test_roles_on_every_case_endpoint(api: Api) -> None:
    _, case = await review_case(api)
    url = f"/v1/cases/{case['id']}"
    writes = [
        ("/v1/cases", {"transaction_id": case["transaction_id"]}),
        (f"{url}/assign", {"assignee": "me"}),
        (f"{url}/notes", {"text": "n"}),
        (f"{url}/disposition", {"disposition": "legitimate", "reason": "r"}),
        (f"{url}/reopen", None),
    ]
    for role in (Role.VIEWER, Role.SERVICE):
        for path, body in writes:
            answer = await api.client.post(path, json=body, headers=api.as_role(role))
            body_of = error_of(answer, 403, "forbidden")
            request_id = answer.headers["X-Request-ID"]
            needs = {"role": role.value, "needs": "work_cases", "request_id": request_id}
            assert body_of["details"] == needs
    for path, body in writes:
        error_of(await api.client.post(path, json=body), 401, "unauthorized")
    for path in ("/v1/cases", url, "/v1/entities/card/x"):
        error_of(await api.client.get(path), 401, "unauthorized")
    for role in Role:  # everyone reads
        assert (await api.client.get(url, headers=api.as_role(role))).status_code == 200
    for role in (Role.ANALYST, Role.APPROVER, Role.ADMIN):  # each of them works cases
        note = await api.client.post(
            f"{url}/notes", json={"text": role.value}, headers=api.as_role(role)
        )
        assert note.status_code == 201, note.text
    error_of(
        await api.client.post(
            f"{url}/disposition",
            json={"disposition": "maybe", "reason": "r"},
            headers=api.as_role(Role.ANALYST),
        ),
        422,
        "validation_error",
    )


async def test_entity_views(api: Api) -> None:
    paid, case = await review_case(api, device_id="dev-shared")
    await pay(api, card_number=CARDS[1], device_id="dev-shared")
    await api.runtime.events.drain()
    viewer = api.as_role(Role.VIEWER)
    card = (
        await api.client.get(f"/v1/entities/card/{paid['card']['token']}", headers=viewer)
    ).json()
    assert card["transactions"] == 1 and card["windows"]["24h"]["amount_minor"] == 2_500
    assert card["linked"]["device"] == ["dev-shared"]
    assert [c["id"] for c in card["open_cases"]] == [case["id"]]
    device = (await api.client.get("/v1/entities/device/dev-shared", headers=viewer)).json()
    assert device["transactions"] == 2 and len(device["linked"]["card"]) == 2
    assert device["outcomes"]["review"] == 2
    listed = (
        await api.client.get(
            "/v1/entities/device/dev-shared/transactions", params={"hours": 1}, headers=viewer
        )
    ).json()["items"]
    assert len(listed) == 2 and all(t["case_id"] for t in listed)
    assert "card_number" not in str(card) and "4111111111111111" not in str(listed)
    for name, value, expected in (
        ("device_id", "dev-shared", 2),
        ("card_token", paid["card"]["token"], 1),
        ("merchant_id", paid["merchant_id"], 2),
        ("merchant_id", "m-nowhere", 0),
    ):
        page = await api.client.get("/v1/transactions", params={name: value}, headers=viewer)
        assert len(page.json()["items"]) == expected, (name, value)
    error_of(await api.client.get("/v1/entities/device/none", headers=viewer), 404, "not_found")
    error_of(await api.client.get("/v1/entities/planet/x", headers=viewer), 422, "validation_error")
    # The case page carries the same histories, each payment with its case.
    detail = (await api.client.get(f"/v1/cases/{case['id']}", headers=viewer)).json()
    assert set(detail["entities"]) == {"card", "account", "device", "merchant"}
    device_history = detail["entities"]["device"]["transactions"]
    assert len(device_history) == 2 and {t["case_id"] for t in device_history} >= {case["id"]}


@pytest.mark.postgres
async def test_two_analysts_claim_at_once_and_one_wins(tmp_path: Path) -> None:
    """Two app instances on one PostgreSQL: only the conditional UPDATE can arbitrate."""
    async with two_processes(tmp_path, review_threshold=0.0) as processes:
        service = {"Authorization": f"Bearer {processes.keys[Role.SERVICE]}"}
        for i in range(5):
            response = await processes.clients[0].post(
                "/v1/transactions",
                json=payment(card_number=CARDS[i % 4], account_id=f"acct-{i}"),
                headers={**service, "Idempotency-Key": f"k-{i}"},
            )
            assert response.status_code == 201
        await processes.runtimes[0].events.drain()
        await processes.runtimes[1].events.drain()
        listed = await processes.clients[1].get("/v1/cases", headers=service)
        ids = [c["id"] for c in listed.json()["items"]]
        assert len(ids) == 4  # the fifth payment joined card 0's case
        for case_id in ids:
            claims = await asyncio.gather(
                *(
                    processes.clients[i % 2].post(
                        f"/v1/cases/{case_id}/assign",
                        json={"assignee": "me"},
                        headers={"Authorization": f"Bearer {processes.keys[role]}"},
                    )
                    for i, role in enumerate((Role.ANALYST, Role.APPROVER) * 3)
                )
            )
            statuses = sorted(r.status_code for r in claims)
            assert statuses == [200, 409, 409, 409, 409, 409], [r.text for r in claims]
            assert {r.json()["code"] for r in claims if r.status_code == 409} == {
                "case_already_assigned"
            }
