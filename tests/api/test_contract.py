"""The API's contract at its edges: what it refuses, how it pages, what it documents and replays.

Regression tests of issue 8's defects 2, 4, 7, 8 and 10, on SQLite and PostgreSQL.
"""

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openapi_spec_validator import validate

from riskops.auth.roles import Role
from tests.conftest import Api, two_processes
from tests.payments import new_key, payment, row_counts

NUL_PATHS = [
    "/v1/transactions/ab%00cd",
    "/v1/audit/ab%00cd",
    "/v1/accounts/ab%00cd/balance",
    "/v1/records/ab%00cd",
    "/v1/models/ab%00cd/drift",
    "/v1/transactions?account_id=ab%00cd",
    "/v1/records?model=ab%00cd",
    "/v1/transactions?cursor=%00",
]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    return body


@pytest.mark.parametrize("path", NUL_PATHS)
async def test_nul_in_path_or_query_is_a_400_on_every_engine(api: Api, path: str) -> None:
    response = await api.client.get(path, headers=api.as_role(Role.VIEWER))
    body = assert_error(response, 400, "bad_request")
    assert body["details"]["in"] == ("query" if "?" in path else "path")


@pytest.mark.parametrize(
    ("path", "role", "body", "extra"),
    [
        ("/v1/transactions", Role.SERVICE, payment(device_id="ab\x00cd"), {}),
        ("/v1/transactions", Role.SERVICE, payment(), {"Idempotency-Key": "ab\x00cd"}),
        ("/v1/admin/keys", Role.ADMIN, {"role": "viewer", "name": "ab\x00cd"}, {}),
        ("/v1/predict", Role.SERVICE, {"model_id": "fraud", "features": {"a\x00": 1}}, {}),
    ],
    ids=["body-field", "header", "key-name", "feature-name"],
)
async def test_nul_in_a_body_or_header_is_a_400_and_writes_nothing(
    api: Api, path: str, role: Role, body: dict[str, Any], extra: dict[str, str]
) -> None:
    before = await row_counts(api.runtime.engine)
    headers = {**api.as_role(role), "Idempotency-Key": new_key(), **extra}
    response = await api.client.post(path, json=body, headers=headers)
    assert assert_error(response, 400, "bad_request")["details"]["in"] in {"body", "header"}
    assert await row_counts(api.runtime.engine) == before


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(api: Api) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    response = await api.client.post(
        "/v1/transactions", json=payment(device_id="dev\\u0000"), headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["device_id"] == "dev\\u0000"


async def test_records_page_with_a_keyset_cursor(api: Api) -> None:
    for _ in range(5):
        created = await api.client.post(
            "/v1/transactions",
            json=payment(),
            headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
        )
        assert created.status_code == 201
    viewer = api.as_role(Role.VIEWER)
    seen: list[dict[str, Any]] = []
    cursor = ""  # empty means absent: the first page
    pages = 0
    while cursor is not None:
        response = await api.client.get(
            "/v1/records", params={"limit": 2, "cursor": cursor}, headers=viewer
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        seen.extend(page["items"])
        cursor, pages = page["next_cursor"], pages + 1
    assert pages == 3 and len({r["id"] for r in seen}) == len(seen) == 5
    keys = [(r["created_at"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    "params",
    [{"offset": "100000000000000000000"}, {"cursor": "x" * 40}, {"limit": "1" + "0" * 25}],
    ids=["huge-offset", "foreign-cursor", "huge-limit"],
)
async def test_records_listing_never_crashes(api: Api, params: dict[str, str]) -> None:
    response = await api.client.get("/v1/records", params=params, headers=api.as_role(Role.VIEWER))
    assert response.status_code < 500, response.text
    assert set(response.json()) in ({"items", "next_cursor"}, {"code", "message", "details"})


async def test_a_cursor_with_a_nul_inside_is_refused(api: Api) -> None:
    raw = orjson.dumps([datetime.now(UTC).isoformat(), "ab\x00cd"])
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for path in ("/v1/records", "/v1/transactions"):
        response = await api.client.get(
            path, params={"cursor": cursor}, headers=api.as_role(Role.VIEWER)
        )
        assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("path", ["/v1/transactions", "/v1/records"])
async def test_empty_cursor_is_the_first_page(api: Api, path: str) -> None:
    response = await api.client.get(path, params={"cursor": ""}, headers=api.as_role(Role.VIEWER))
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/transactions", "to"),
        ("/v1/transactions", "from"),
        ("/v1/records", "created_from"),
        ("/v1/records", "created_to"),
    ],
)
@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-31T12:00:00"])
async def test_query_times_must_be_iso_8601_with_an_offset(
    api: Api, path: str, name: str, value: str
) -> None:
    response = await api.client.get(path, params={name: value}, headers=api.as_role(Role.VIEWER))
    body = assert_error(response, 422, "validation_error")
    assert body["details"]["errors"][0]["field"] == name


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        (datetime.now(UTC) - timedelta(days=31)).isoformat(),
        0.5,
        1_700_000_000,
        "1700000000",
    ],
    ids=["year-1", "epoch", "31-days-ago", "float", "epoch-seconds", "digits"],
)
async def test_event_time_outside_the_window_is_refused(api: Api, occurred_at: object) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    response = await api.client.post(
        "/v1/transactions", json=payment(occurred_at=occurred_at), headers=headers
    )
    body = assert_error(response, 422, "validation_error")
    assert body["details"]["errors"][0]["field"] == "occurred_at"
    assert all(count == 0 for count in (await row_counts(api.runtime.engine)).values())


async def test_recent_event_time_is_accepted(api: Api) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    at = (datetime.now(UTC) - timedelta(days=29)).isoformat()
    response = await api.client.post(
        "/v1/transactions", json=payment(occurred_at=at), headers=headers
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_json_body_under_another_media_type_is_a_415(api: Api, content_type: str) -> None:
    headers = {
        **api.as_role(Role.SERVICE),
        "Idempotency-Key": new_key(),
        "Content-Type": content_type,
    }
    response = await api.client.post(
        "/v1/transactions", content=orjson.dumps(payment()), headers=headers
    )
    assert_error(response, 415, "unsupported_media_type")
    assert all(count == 0 for count in (await row_counts(api.runtime.engine)).values())


async def test_json_with_a_charset_is_accepted(api: Api) -> None:
    headers = {
        **api.as_role(Role.SERVICE),
        "Idempotency-Key": new_key(),
        "Content-Type": "application/json; charset=utf-8",
    }
    response = await api.client.post(
        "/v1/transactions", content=orjson.dumps(payment()), headers=headers
    )
    assert response.status_code == 201, response.text


def unresolved_refs(document: dict[str, Any]) -> list[str]:
    """Every `$ref` in the document that does not point at a node of the document."""

    def target(ref: str) -> bool:
        if not ref.startswith("#/"):
            return False
        node: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not target(ref):
                found.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


async def test_the_openapi_document_validates_and_every_ref_resolves(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    document = response.json()
    validate(document)
    assert unresolved_refs(document) == []
    body = document["paths"]["/v1/transactions"]["post"]["requestBody"]
    channel = body["content"]["application/json"]["schema"]["properties"]["channel"]
    assert channel["enum"] == ["pos", "ecom", "atm", "moto"]


def test_the_ref_check_catches_a_dangling_ref() -> None:
    document = {"components": {"schemas": {"A": {}}}, "x": [{"$ref": "#/$defs/Channel"}]}
    assert unresolved_refs(document) == ["#/$defs/Channel"]
    assert (
        unresolved_refs({"components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}})
        == []
    )


RULE_HITTING = payment(merchant_country="KP", amount_minor=900_000, channel="ecom")


async def test_a_replay_is_byte_identical_in_one_process(api: Api) -> None:
    headers = {**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()}
    first = await api.client.post("/v1/transactions", json=RULE_HITTING, headers=headers)
    again = await api.client.post("/v1/transactions", json=RULE_HITTING, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["decision"]["rule_hits"], "the payment must hit rules (JSON objects)"
    assert again.content == first.content


@pytest.mark.postgres
async def test_a_replay_is_byte_identical_across_processes(tmp_path: Path) -> None:
    """JSONB reorders object keys: a replay read back by another process must not."""
    async with two_processes(tmp_path) as processes:
        headers = {
            "Authorization": f"Bearer {processes.keys[Role.SERVICE]}",
            "Idempotency-Key": "rp-1",
        }
        first_process, second_process = processes.clients
        first = await first_process.post("/v1/transactions", json=RULE_HITTING, headers=headers)
        replays = [
            await client.post("/v1/transactions", json=RULE_HITTING, headers=headers)
            for client in (second_process, first_process)
        ]
    assert first.status_code == 201, first.text
    assert first.json()["decision"]["rule_hits"], "the payment must hit rules (JSON objects)"
    for replay in replays:
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.content == first.content
