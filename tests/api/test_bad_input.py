"""Bad input gets a clear error in the one shape and writes nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskops.auth.roles import Role
from tests.conftest import Api
from tests.payments import CARD, new_key, payment, row_counts

FUTURE = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()

CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (name, body, status, code, field named in the error)
    ("amount as string", payment(amount_minor="25.00"), 422, "validation_error", "amount_minor"),
    ("amount as float", payment(amount_minor=25.5), 422, "validation_error", "amount_minor"),
    ("zero amount", payment(amount_minor=0), 422, "validation_error", "amount_minor"),
    ("negative amount", payment(amount_minor=-5), 422, "validation_error", "amount_minor"),
    ("unknown currency", payment(currency="XYZ"), 422, "validation_error", "currency"),
    ("lowercase currency", payment(currency="eur"), 422, "validation_error", "currency"),
    ("bad luhn", payment(card_number="4111111111111112"), 422, "validation_error", "card_number"),
    (
        "letters in card",
        payment(card_number="4111abcd11111111"),
        422,
        "validation_error",
        "card_number",
    ),
    ("short card", payment(card_number="42"), 422, "validation_error", "card_number"),
    ("future event", payment(occurred_at=FUTURE), 422, "validation_error", "occurred_at"),
    (
        "naive event time",
        payment(occurred_at="2026-01-01T10:00:00"),
        422,
        "validation_error",
        "occurred_at",
    ),
    ("unknown field", payment(coupon="FREE"), 422, "validation_error", "coupon"),
    ("bad channel", payment(channel="fax"), 422, "validation_error", "channel"),
    ("bad country", payment(merchant_country="XX"), 422, "validation_error", "merchant_country"),
    ("bad mcc", payment(merchant_category="shop"), 422, "validation_error", "merchant_category"),
    ("bad ip", payment(ip="999.1.1.1"), 422, "validation_error", "ip"),
    (
        "missing account",
        {k: v for k, v in payment().items() if k != "account_id"},
        422,
        "validation_error",
        "account_id",
    ),
    ("account as number", payment(account_id=12), 422, "validation_error", "account_id"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "code", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_payment_is_refused_and_writes_nothing(
    api: Api, name: str, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    response = await api.client.post("/v1/transactions", json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert field in error["message"]
    assert any(e["field"] == field for e in error["details"]["errors"])
    assert CARD not in response.text and "4111111111111112" not in response.text
    assert all(count == 0 for count in (await row_counts(api.runtime.engine)).values())


async def test_missing_idempotency_key(api: Api) -> None:
    response = await api.client.post(
        "/v1/transactions", json=payment(), headers=api.as_role(Role.SERVICE)
    )
    assert response.status_code == 400
    request_id = response.headers["X-Request-ID"]
    assert response.json()["details"] == {"header": "Idempotency-Key", "request_id": request_id}
    assert all(count == 0 for count in (await row_counts(api.runtime.engine)).values())


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"[1, 2, 3]", 422, "validation_error"),
        (b'{"padding": "' + b"x" * 200_000 + b'"}', 413, "payload_too_large"),
    ],
    ids=["malformed", "array", "huge"],
)
async def test_unreadable_bodies(api: Api, content: bytes, status: int, code: str) -> None:
    headers = {
        **api.as_role(Role.SERVICE),
        "Idempotency-Key": new_key(),
        "Content-Type": "application/json",
    }
    response = await api.client.post("/v1/transactions", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert all(count == 0 for count in (await row_counts(api.runtime.engine)).values())


async def test_unknown_route_and_method_use_the_error_shape(api: Api) -> None:
    missing = await api.client.get("/v1/nothing", headers=api.as_role(Role.VIEWER))
    assert missing.status_code == 404 and set(missing.json()) == {"code", "message", "details"}
    wrong = await api.client.put("/v1/stats", headers=api.as_role(Role.VIEWER))
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_bad_query_parameters(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)
    for params, field in (
        ({"status": "maybe"}, "status"),
        ({"min_score": 2}, "min_score"),
        ({"from": "yesterday"}, "from"),
    ):
        response = await api.client.get("/v1/transactions", params=params, headers=viewer)
        assert response.status_code == 422, params
        assert field in response.json()["message"]
