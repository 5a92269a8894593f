"""Dispositions and direct labels reach the transaction, labels.v1, and the merchant's
delayed fraud rate; chargeback files import all or nothing, once."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from riskops.audit.service import cli_actor
from riskops.auth.roles import Role
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.envelope import LABELS_TOPIC
from riskops.events.models import OutboxEvent
from riskops.labels.importer import import_labels
from riskops.labels.models import Label
from riskops.ml import repository as ml_repository
from tests.cases.support import error_of, pay, review_case
from tests.conftest import Api
from tests.payments import OTHER_CARD

pytestmark = pytest.mark.settings(review_threshold=0.0)
outbox = table_of(OutboxEvent)
labels = table_of(Label)


async def transaction_labels(api: Api, transaction_id: str) -> list[tuple[str, str]]:
    response = await api.client.get(
        f"/v1/transactions/{transaction_id}", headers=api.as_role(Role.VIEWER)
    )
    assert response.status_code == 200, response.text
    return [(x["label"], x["source"]) for x in response.json()["labels"]]


async def label_count(api: Api) -> int:
    async with api.runtime.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(labels)) or 0)


async def test_a_fraud_disposition_labels_the_payments_and_moves_the_merchant_rate(
    api: Api,
) -> None:
    # Paid 7 days and 2 hours ago: inside the merchant's delayed 1-day window from now.
    old = (utcnow() - api.runtime.settings.label_delay - timedelta(hours=2)).isoformat()
    paid, case = await review_case(api, merchant_id="m-shady", occurred_at=old)
    before = await pay(api, merchant_id="m-shady", card_number=OTHER_CARD, account_id="acct-2")
    assert before["decision"]["status"] == "review"
    response = await api.client.post(
        f"/v1/cases/{case['id']}/disposition",
        json={"disposition": "fraud_confirmed", "reason": "cardholder denies it"},
        headers=api.as_role(Role.ANALYST),
    )
    assert response.status_code == 200, response.text
    assert await transaction_labels(api, paid["id"]) == [("fraud", "analyst")]
    # Published on labels.v1 for downstream systems, and read back by our own labels
    # consumer without storing it twice.
    async with api.runtime.engine.connect() as connection:
        events = (
            (
                await connection.execute(
                    select(outbox.c.payload).where(outbox.c.topic == LABELS_TOPIC)
                )
            )
            .scalars()
            .all()
        )
    assert [e["data"]["transaction_id"] for e in events] == [paid["id"]]
    assert events[0]["data"]["label"] == 1 and events[0]["data"]["source"] == "analyst"
    await api.runtime.events.drain()
    assert await label_count(api) == 1

    after = await pay(api, merchant_id="m-shady", card_number=OTHER_CARD, account_id="acct-3")
    rate = "merchant_fraud_rate_1d"
    detail = await api.client.get(
        f"/v1/transactions/{after['id']}", headers=api.as_role(Role.VIEWER)
    )
    before_detail = await api.client.get(
        f"/v1/transactions/{before['id']}", headers=api.as_role(Role.VIEWER)
    )
    assert before_detail.json()["features"][rate] == 0.0
    assert detail.json()["features"][rate] == 1.0


async def test_a_legitimate_disposition_labels_genuine(api: Api) -> None:
    paid, case = await review_case(api)
    await api.client.post(
        f"/v1/cases/{case['id']}/disposition",
        json={"disposition": "legitimate", "reason": "customer confirmed"},
        headers=api.as_role(Role.ANALYST),
    )
    assert await transaction_labels(api, paid["id"]) == [("legitimate", "analyst")]


async def test_direct_label_endpoint(api: Api) -> None:
    paid = await pay(api)
    url = f"/v1/transactions/{paid['id']}/label"
    body = {"label": "fraud", "source": "chargeback", "reason": "CB 4837"}
    created = await api.client.post(url, json=body, headers=api.as_role(Role.SERVICE))
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "fraud" and created.json()["source"] == "chargeback"
    assert await transaction_labels(api, paid["id"]) == [("fraud", "chargeback")]
    error_of(
        await api.client.post(url, json=body, headers=api.as_role(Role.VIEWER)), 403, "forbidden"
    )
    error_of(
        await api.client.post(
            "/v1/transactions/nope/label", json=body, headers=api.as_role(Role.ANALYST)
        ),
        404,
        "not_found",
    )
    error_of(
        await api.client.post(url, json={"label": "maybe"}, headers=api.as_role(Role.ANALYST)),
        422,
        "validation_error",
    )
    audit = await api.client.get(
        "/v1/admin/audit",
        params={"action": "transaction.labelled"},
        headers=api.as_role(Role.ADMIN),
    )
    assert audit.status_code == 200, audit.text
    [entry] = audit.json()["items"]
    assert entry["target"] == f"transaction:{paid['id']}" and entry["after"]["reason"] == "CB 4837"


async def test_import_is_all_or_nothing_and_idempotent(api: Api, tmp_path: Path) -> None:
    first, second = await pay(api), await pay(api, card_number=OTHER_CARD)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "transaction_id,label,labelled_at\n"
        f"{first['id']},fraud,2026-11-30T10:00:00Z\n"
        f"{second['id']},perhaps,\n"
        "01JNOSUCHTRANSACTION000000,fraud,\n"
        f"{second['id']},legitimate,yesterday\n"
    )
    async with transaction(api.runtime.engine) as connection:
        report = await import_labels(connection, api.runtime.labels, bad, cli_actor())
    assert [(b.line, b.message.split(" ")[0]) for b in report.bad] == [
        (3, "label"), (4, "transaction"), (5, "labelled_at"),
    ]  # fmt: skip
    assert report.stored == 0 and await label_count(api) == 0

    good = tmp_path / "good.csv"
    good.write_text(f"transaction_id,label\n{first['id']},fraud\n{second['id']},legitimate\n")
    for stored, already in ((2, 0), (0, 2)):
        async with transaction(api.runtime.engine) as connection:
            report = await import_labels(connection, api.runtime.labels, good, cli_actor())
        assert (report.bad, report.stored, report.already) == ([], stored, already)
    assert await label_count(api) == 2
    assert await transaction_labels(api, first["id"]) == [("fraud", "chargeback")]
    audit = await api.client.get(
        "/v1/admin/audit", params={"action": "labels.imported"}, headers=api.as_role(Role.ADMIN)
    )
    # One entry per import that wrote (the refused file wrote nothing, not even this).
    assert [(e["target"], e["after"]["stored"]) for e in audit.json()["items"]] == [
        ("file:good.csv", 0), ("file:good.csv", 2),
    ]  # fmt: skip


async def test_a_disposition_reaches_the_next_training_set_point_in_time(api: Api) -> None:
    paid, case = await review_case(api)
    before = utcnow()
    await api.client.post(
        f"/v1/cases/{case['id']}/disposition",
        json={"disposition": "fraud_confirmed", "reason": "confirmed with the issuer"},
        headers=api.as_role(Role.ANALYST),
    )
    start, end = before - timedelta(days=1), utcnow() + timedelta(minutes=1)
    async with api.runtime.engine.connect() as connection:
        known_now = await ml_repository.training_rows(connection, start, end, utcnow())
        known_before = await ml_repository.training_rows(connection, start, end, before)
    assert {r["id"]: r["label"] for r in known_now}[paid["id"]] == 1
    assert {r["id"]: r["label"] for r in known_before}[paid["id"]] == 0  # not known yet then


async def test_quality_figures(api: Api) -> None:
    _, case = await review_case(api)
    await pay(api, card_number=OTHER_CARD)
    await api.runtime.events.drain()
    analyst = api.as_role(Role.ANALYST)
    await api.client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": "me"}, headers=analyst
    )
    await api.client.post(
        f"/v1/cases/{case['id']}/disposition",
        json={"disposition": "fraud_confirmed", "reason": "r"},
        headers=analyst,
    )
    figures = (await api.client.get("/v1/quality", headers=analyst)).json()
    assert figures["queue"] == {"open": 1, "assigned": 0, "overdue": 0}
    assert figures["ageing"]["under_1h"] == 1 and figures["workload"] == {"unassigned": 1}
    assert figures["outcomes"] == {"fraud_confirmed": 1} and figures["closed"] == 1
    assert figures["review_fraud_share"] == 1.0
    assert figures["recall_by_outcome"]["fraud_labelled"] == 1
    assert figures["recall_by_outcome"]["review"] == 1.0
    assert figures["hours_to_disposition"]["p50"] is not None
    error_of(
        await api.client.get("/v1/quality", headers=api.as_role(Role.VIEWER)), 403, "forbidden"
    )
    for role in (Role.APPROVER, Role.ADMIN):
        assert (await api.client.get("/v1/quality", headers=api.as_role(role))).status_code == 200
