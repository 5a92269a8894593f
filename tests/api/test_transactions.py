"""The payment API through the real app, on SQLite and PostgreSQL."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from riskops.auth.roles import Role
from riskops.db.base import table_of
from riskops.decisions.schemas import AuditOut, TransactionDetail, TransactionOut
from riskops.decisions.scoring import RULES_ONLY_NOTE
from riskops.events.envelope import RISK_ASSESSED, TRANSACTION_CREATED
from riskops.events.models import OutboxEvent
from tests.conftest import Api
from tests.payments import CARD, all_stored_text, new_key, payment, row_counts


async def submit(
    api: Api, body: dict[str, object], key: str | None = None, role: Role = Role.SERVICE
):
    headers = {**api.as_role(role), "Idempotency-Key": key or new_key()}
    return await api.client.post("/v1/transactions", json=body, headers=headers)


async def test_a_payment_gets_a_decision_from_rules_alone(api: Api) -> None:
    response = await submit(api, payment())
    assert response.status_code == 201, response.text
    document = TransactionOut.model_validate(response.json())
    assert document.decision.status == "approve"
    assert document.decision.model_version is None
    assert document.decision.note == RULES_ONLY_NOTE
    assert document.decision.score_source == "rules"
    assert document.card.bin == "411111" and document.card.last4 == "1111"
    assert CARD not in response.text
    counts = await row_counts(api.runtime.engine)
    assert counts["transactions"] == counts["decisions"] == counts["decision_audits"] == 1
    assert counts["ledger_entries"] == 1 and counts["outbox"] == 2


async def test_the_raw_card_number_is_never_stored(api: Api) -> None:
    await submit(api, payment(card_number="4111 1111 1111 1111"))
    assert CARD not in await all_stored_text(api.runtime.engine)


async def test_outbox_holds_cloudevents_keyed_by_account(api: Api) -> None:
    response = await submit(api, payment())
    async with api.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(table_of(OutboxEvent)))).all()
    assert {row.event_type for row in rows} == {TRANSACTION_CREATED, RISK_ASSESSED}
    for row in rows:
        assert row.key == "acct-1"
        assert row.payload["specversion"] == "1.0"
        assert row.payload["subject"] == response.json()["id"]
        assert len(row.payload["id"]) == 26
        assert CARD not in str(row.payload)


async def test_same_key_same_body_replays_the_stored_answer(api: Api) -> None:
    first = await submit(api, payment(), key="retry-1")
    second = await submit(api, payment(), key="retry-1")
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json() == first.json()
    assert (await row_counts(api.runtime.engine))["transactions"] == 1


async def test_same_key_different_body_is_a_conflict(api: Api) -> None:
    await submit(api, payment(), key="retry-2")
    response = await submit(api, payment(amount_minor=9_999), key="retry-2")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert set(body) == {"code", "message", "details"}
    assert (await row_counts(api.runtime.engine))["transactions"] == 1


async def test_idempotency_keys_are_scoped_by_account(api: Api) -> None:
    await submit(api, payment(account_id="acct-a"), key="shared")
    response = await submit(api, payment(account_id="acct-b"), key="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert (await row_counts(api.runtime.engine))["transactions"] == 2


async def test_a_currency_other_than_the_accounts_is_refused(api: Api) -> None:
    await submit(api, payment(currency="EUR"))
    before = await row_counts(api.runtime.engine)
    response = await submit(api, payment(currency="USD"))
    assert response.status_code == 422
    assert response.json()["code"] == "currency_mismatch"
    assert "EUR" in response.json()["message"]
    assert await row_counts(api.runtime.engine) == before


async def test_balance_counts_approved_payments_only(api: Api) -> None:
    await submit(api, payment(amount_minor=1_000))
    await submit(api, payment(amount_minor=2_000))
    await submit(api, payment(merchant_country="KP"))  # sanctioned country: declined by rule
    response = await api.client.get("/v1/accounts/acct-1/balance", headers=api.as_role(Role.VIEWER))
    assert response.status_code == 200
    balance = response.json()
    assert balance["currency"] == "EUR"
    assert balance["transactions"] == 3
    assert balance["declined"] == 1
    assert balance["balance_minor"] == -3_000
    missing = await api.client.get("/v1/accounts/nobody/balance", headers=api.as_role(Role.VIEWER))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_detail_and_audit(api: Api) -> None:
    created = (await submit(api, payment())).json()
    viewer = api.as_role(Role.VIEWER)
    detail = await api.client.get(f"/v1/transactions/{created['id']}", headers=viewer)
    assert detail.status_code == 200
    parsed = TransactionDetail.model_validate(detail.json())
    assert parsed.features["card_count_5m"] == 1
    assert parsed.audit.inputs_snapshot["card_token"] == created["card"]["token"]
    audit = await api.client.get(f"/v1/audit/{created['id']}", headers=viewer)
    assert AuditOut.model_validate(audit.json()).transaction_id == created["id"]
    for path in ("/v1/transactions/nope", "/v1/audit/nope"):
        missing = await api.client.get(path, headers=viewer)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_listing_filters_and_keyset_pages(api: Api) -> None:
    start = datetime.now(UTC) - timedelta(hours=5)
    for i in range(7):
        at = (start + timedelta(minutes=10 * (i // 2))).isoformat()  # pairs share a timestamp
        await submit(api, payment(account_id=f"acct-{i % 2}", occurred_at=at))
    await submit(
        api, payment(account_id="acct-0", merchant_country="KP", occurred_at=start.isoformat())
    )
    viewer = api.as_role(Role.VIEWER)

    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/v1/transactions", params=params, headers=viewer)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8 and len({t["id"] for t in seen}) == 8
    keys = [(t["occurred_at"], t["id"]) for t in seen]
    assert keys == sorted(keys, reverse=True)

    async def ids(**params: object) -> set[str]:
        page = await api.client.get("/v1/transactions", params=params, headers=viewer)
        assert page.status_code == 200, page.text
        return {t["id"] for t in page.json()["items"]}

    def expected(keep: Callable[[dict[str, Any]], bool]) -> set[str]:
        return {t["id"] for t in seen if keep(t)}

    assert len(await ids(account_id="acct-1")) == 3
    assert await ids(status="decline") == expected(lambda t: t["decision"]["status"] == "decline")
    assert len(await ids(status="decline")) == 1
    assert await ids(min_score=0.5) == expected(lambda t: t["decision"]["score"] >= 0.5)
    assert await ids(max_score=0.1) == expected(lambda t: t["decision"]["score"] <= 0.1)
    window = {
        "from": (start + timedelta(minutes=10)).isoformat(),
        "to": (start + timedelta(minutes=30)).isoformat(),
    }
    assert len(await ids(**window)) == 4
    bad = await api.client.get("/v1/transactions", params={"cursor": "garbage!"}, headers=viewer)
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "cursor"
    capped = await api.client.get("/v1/transactions", params={"limit": 10_000}, headers=viewer)
    assert capped.status_code == 200


async def test_stats(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)
    empty = (await api.client.get("/v1/stats", headers=viewer)).json()
    assert empty["total"] == 0 and empty["approval_rate"] is None
    await submit(api, payment(amount_minor=1_000))
    await submit(api, payment(amount_minor=3_000, merchant_country="KP"))
    # Stats come from the analytics consumer's aggregates: wait for the event path to catch up.
    await api.runtime.events.drain()
    stats = (await api.client.get("/v1/stats", headers=viewer)).json()
    assert stats["total"] == 2 and stats["approved"] == 1 and stats["declined"] == 1
    assert stats["approval_rate"] == 0.5
    assert stats["avg_amount"] == 2_000
    assert stats["p95_latency_ms"] > 0


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, False),
        (Role.ANALYST, True),
        (Role.APPROVER, True),
        (Role.ADMIN, True),
        (Role.SERVICE, True),
    ],
)
async def test_roles_that_may_submit(api: Api, role: Role, allowed: bool) -> None:
    response = await submit(api, payment(), role=role)
    assert response.status_code == (201 if allowed else 403)
    if not allowed:
        assert response.json()["code"] == "forbidden"
        assert (await row_counts(api.runtime.engine))["transactions"] == 0


async def test_authentication(api: Api) -> None:
    assert (await api.client.get("/health")).status_code == 200
    ready = await api.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    for headers in (
        {},
        {"Authorization": "Bearer rk_nothere_xx"},
        {"X-API-Key": "rk_aaaaaaaaaaaa_" + "x" * 40},
    ):
        response = await api.client.get("/v1/stats", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    by_header = await api.client.get("/v1/stats", headers={"X-API-Key": api.keys[Role.VIEWER]})
    assert by_header.status_code == 200
    admin_only = await api.client.post(
        "/v1/admin/keys", json={"role": "viewer", "name": "x"}, headers=api.as_role(Role.ANALYST)
    )
    assert admin_only.status_code == 403


async def test_admin_creates_and_revokes_keys(api: Api) -> None:
    created = await api.client.post(
        "/v1/admin/keys", json={"role": "analyst", "name": "alice"}, headers=api.as_role(Role.ADMIN)
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert (await api.client.get("/v1/stats", headers={"X-API-Key": key})).status_code == 200
    revoked = await api.client.delete(
        f"/v1/admin/keys/{created.json()['id']}", headers=api.as_role(Role.ADMIN)
    )
    assert revoked.status_code == 204
    api.runtime.keys._cache.clear()  # the documented cache delay, skipped
    assert (await api.client.get("/v1/stats", headers={"X-API-Key": key})).status_code == 401
