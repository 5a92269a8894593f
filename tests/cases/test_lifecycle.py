"""A review decision opens a case exactly once; analysts claim, annotate, dispose, reopen."""

import pytest
from sqlalchemy import func, select

from riskops.auth.roles import Role
from riskops.cases import service
from riskops.cases.models import Case, CaseTransaction
from riskops.cases.tasks import CasesConsumer
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.events.bus import Delivered, Message
from riskops.events.consumer import Incoming
from riskops.events.envelope import ASSESSMENTS_TOPIC, encode, headers_for
from riskops.events.models import OutboxEvent
from tests.cases.support import error_of, pay, queue, review_case
from tests.conftest import Api
from tests.payments import OTHER_CARD

outbox = table_of(OutboxEvent)
# Every payment goes to review: the queue fills without depending on rule details.
pytestmark = pytest.mark.settings(review_threshold=0.0)


async def count(api: Api, model: type) -> int:
    async with api.runtime.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table_of(model))) or 0)


async def test_a_review_decision_opens_one_case_even_when_redelivered(api: Api) -> None:
    paid, case = await review_case(api)
    assert case["status"] == "open" and case["source"] == "review"
    assert case["transaction_id"] == paid["id"] and case["amount_minor"] == 2_500
    assert case["card_token"] == paid["card"]["token"] and case["country"] == "DE"
    assert case["priority"] == pytest.approx(max(paid["decision"]["score"], 0.1) * 25)
    assert [h["action"] for h in case["history"]] == ["case.opened"]
    # The relay publishes at least once: the very same event again (a relay that died
    # before marking its row sent), then straight into a consumer (a redelivered batch).
    async with api.runtime.engine.connect() as connection:
        stored = (
            await connection.execute(
                select(outbox.c.payload).where(
                    outbox.c.topic == ASSESSMENTS_TOPIC, outbox.c.key == paid["account_id"]
                )
            )
        ).scalar_one()
    await api.runtime.bus.publish(
        [Message(ASSESSMENTS_TOPIC, encode(stored), paid["account_id"], headers_for(stored))]
    )
    await api.runtime.events.drain()
    consumer = CasesConsumer(
        api.runtime.engine,
        service.CasePolicy(api.runtime.settings.case_join_window, api.runtime.settings.case_sla),
    )
    delivered = Delivered(ASSESSMENTS_TOPIC, 0, 0, encode(stored), paid["account_id"], {})
    await consumer.handle(Incoming(stored, delivered))
    assert await count(api, Case) == 1 and await count(api, CaseTransaction) == 1


async def test_payments_of_a_card_join_its_open_case_within_the_window(api: Api) -> None:
    first, case = await review_case(api)
    second = await pay(api, amount_minor=9_000)
    other = await pay(api, card_number=OTHER_CARD)
    await api.runtime.events.drain()
    detail = (
        await api.client.get(f"/v1/cases/{case['id']}", headers=api.as_role(Role.VIEWER))
    ).json()
    assert [t["id"] for t in detail["transactions"]] == [first["id"], second["id"]]
    assert detail["amount_minor"] == 11_500
    assert [h["action"] for h in detail["history"]] == ["case.opened", "case.transaction_added"]
    cases = await queue(api)
    assert len(cases) == 2  # the other card has its own
    assert {c["transaction_id"] for c in cases} == {first["id"], other["id"]}


@pytest.mark.settings(review_threshold=0.0, case_join_window=0)
async def test_without_a_join_window_every_review_payment_opens_a_case(api: Api) -> None:
    await pay(api)
    await pay(api)
    await api.runtime.events.drain()
    assert len(await queue(api)) == 2


async def test_claim_note_dispose_and_reopen(api: Api) -> None:
    analyst, approver = api.as_role(Role.ANALYST), api.as_role(Role.APPROVER)
    _, case = await review_case(api)
    url = f"/v1/cases/{case['id']}"
    claimed = await api.client.post(f"{url}/assign", json={"assignee": "me"}, headers=analyst)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "assigned" and claimed.json()["assignee"]
    again = await api.client.post(f"{url}/assign", json={"assignee": "me"}, headers=approver)
    body = error_of(again, 409, "case_already_assigned")
    assert body["details"]["assignee"] == claimed.json()["assignee"]

    note = await api.client.post(
        f"{url}/notes", json={"text": "called the cardholder"}, headers=analyst
    )
    assert note.status_code == 201 and note.json()["author_name"] == "test analyst"
    disposed = await api.client.post(
        f"{url}/disposition",
        json={"disposition": "inconclusive", "reason": "no answer"},
        headers=analyst,
    )
    assert disposed.status_code == 200, disposed.text
    assert (
        disposed.json()["status"] == "closed" and disposed.json()["disposition"] == "inconclusive"
    )
    twice = await api.client.post(
        f"{url}/disposition", json={"disposition": "legitimate", "reason": "x"}, headers=analyst
    )
    error_of(twice, 409, "case_closed")
    error_of(
        await api.client.post(f"{url}/assign", json={"assignee": "me"}, headers=approver),
        409,
        "case_closed",
    )

    reopened = await api.client.post(f"{url}/reopen", headers=approver)
    assert reopened.status_code == 200 and reopened.json()["status"] == "assigned"
    error_of(await api.client.post(f"{url}/reopen", headers=approver), 409, "case_not_closed")

    detail = (await api.client.get(url, headers=api.as_role(Role.VIEWER))).json()
    assert [n["text"] for n in detail["notes"]] == ["called the cardholder"]
    assert [d["disposition"] for d in detail["dispositions"]] == ["inconclusive"]
    assert detail["dispositions"][0]["labels"] == []  # inconclusive teaches nothing
    assert [h["action"] for h in detail["history"]] == [
        "case.opened", "case.assigned", "case.note_added", "case.disposed", "case.reopened",
    ]  # fmt: skip
    actors = {h["actor_name"] for h in detail["history"]}
    assert actors == {"RiskOps", "test analyst", "test approver"}


async def test_manual_case_on_any_transaction(api: Api) -> None:
    paid, _ = await review_case(api)
    analyst = api.as_role(Role.ANALYST)
    error_of(
        await api.client.post("/v1/cases", json={"transaction_id": paid["id"]}, headers=analyst),
        409,
        "transaction_in_case",
    )
    other = await pay(api, card_number=OTHER_CARD)
    # Let the consumer link it first: removing the link before it runs raced with it.
    await api.runtime.events.drain()
    async with transaction(api.runtime.engine) as connection:  # as if the consumer lagged
        await connection.execute(table_of(CaseTransaction).delete().where(
            table_of(CaseTransaction).c.transaction_id == other["id"]
        ))  # fmt: skip
    opened = await api.client.post(
        "/v1/cases",
        json={"transaction_id": other["id"], "reason": "customer called"},
        headers=analyst,
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["source"] == "manual" and opened.json()["transaction_id"] == other["id"]
    error_of(
        await api.client.post("/v1/cases", json={"transaction_id": "nope"}, headers=analyst),
        404,
        "not_found",
    )
    error_of(await api.client.get("/v1/cases/nope", headers=analyst), 404, "not_found")
