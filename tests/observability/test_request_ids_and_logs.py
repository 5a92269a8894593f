"""Every response names its request; every log line names it too, and never a card or a key."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from riskops.auth.roles import Role
from riskops.core.context import current_request_id
from riskops.observability.logs import _Formatter, redact
from tests.conftest import Api
from tests.payments import payment


async def test_a_request_id_is_made_when_none_is_given(api: Api) -> None:
    first = await api.client.get("/health")
    second = await api.client.get("/health")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(len(i) == 16 for i in ids) and ids[0] != ids[1]


async def test_a_plain_request_id_is_kept_and_quoted_by_errors(api: Api) -> None:
    response = await api.client.post(
        "/v1/transactions",
        json=payment(),
        headers={**api.as_role(Role.SERVICE), "X-Request-ID": "checkout-7f3a.2"},
    )
    assert response.status_code == 400  # no Idempotency-Key
    assert response.headers["X-Request-ID"] == "checkout-7f3a.2"
    assert response.json()["details"]["request_id"] == "checkout-7f3a.2"


@pytest.mark.parametrize("given", ["two words", "x" * 129, "<script>", ""])
async def test_an_unsafe_request_id_is_replaced_not_echoed(api: Api, given: str) -> None:
    response = await api.client.get("/health", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] != given
    assert len(response.headers["X-Request-ID"]) == 16


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Formatter("json"))
    errors = logging.getLogger("riskops.api.errors")
    errors.addHandler(handler)
    try:
        yield stream
    finally:
        errors.removeHandler(handler)


async def test_a_crash_is_logged_with_the_request_id_the_caller_saw(
    api: Api, json_lines: io.StringIO
) -> None:
    async def crash() -> None:
        raise RuntimeError("card 4111 1111 1111 1111 broke it")

    app = api.client._transport.app  # type: ignore[attr-defined]
    app.add_api_route("/crash", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
        response = await client.get("/crash", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-42"
    assert response.json()["details"] == {"request_id": "req-42"}
    [line] = [json.loads(text) for text in json_lines.getvalue().splitlines()]
    assert line["request_id"] == "req-42" and line["level"] == "ERROR"
    assert "4111" not in line["exception"] and "[card redacted]" in line["exception"]


def test_text_lines_carry_the_request_id_and_hide_cards_and_keys() -> None:
    record = logging.LogRecord(
        "riskops.x", logging.INFO, __file__, 1,
        "key rk_0123456789ab_SECRETsecretSECRETsecret paid with 5555-5555-5555-4444", None, None,
    )  # fmt: skip
    token = current_request_id.set("abc")
    try:
        line = _Formatter("text").format(record)
    finally:
        current_request_id.reset(token)
    assert line.endswith("[request abc]")
    assert "SECRET" not in line and "5555" not in line


def test_redaction_leaves_ids_and_amounts_alone() -> None:
    text = "transaction 01M8TC7PWGJXZYKTMGX3DSQPE8 amount 1250000 merchant m_42"
    assert redact(text) == text
