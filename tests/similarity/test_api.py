"""The nearest-records API on both databases: shapes, order, filters, bounds, roles, errors."""

import asyncio
from typing import Any

import pytest

from riskops.auth.roles import Role
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.features import FEATURE_NAMES
from riskops.ml import repository as ml_repository
from tests.conftest import Api
from tests.payments import new_key, payment

pytestmark = pytest.mark.settings(embeddings_enabled=False)  # each test embeds when it wants


async def pay(api: Api, count: int, **overrides: Any) -> list[str]:
    ids = []
    for i in range(count):
        body = payment(amount_minor=1_000 + 7_919 * i % 400_000, **overrides)
        response = await api.client.post(
            "/v1/transactions",
            json=body,
            headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def nearest(api: Api, role: Role = Role.VIEWER, **params: Any) -> Any:
    return await api.client.get("/v1/records/nearest", params=params, headers=api.as_role(role))


async def test_a_record_has_neighbours_nearest_first(api: Api) -> None:
    ids = await pay(api, 12)
    assert await api.runtime.embedding_tasks.catch_up() == 12
    response = await nearest(api, record_id=ids[0], k=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["embedding"] == "features/1"
    items = body["items"]
    assert len(items) == 5
    assert ids[0] not in [i["id"] for i in items]
    assert [i["distance"] for i in items] == sorted(i["distance"] for i in items)
    assert set(items[0]) == {
        "id",
        "distance",
        "kind",
        "model_name",
        "score",
        "outcome",
        "label",
        "created_at",
    }
    assert items[0]["kind"] == "decision"
    assert items[0]["outcome"] in {"approve", "review", "decline"}
    # POST by record id answers the same.
    posted = await api.client.post(
        "/v1/records/nearest", json={"record_id": ids[0], "k": 5}, headers=api.as_role(Role.VIEWER)
    )
    assert posted.json()["items"] == items


async def test_a_feature_payload_finds_the_record_it_copies(api: Api) -> None:
    ids = await pay(api, 8)
    await api.runtime.embedding_tasks.catch_up()
    record = (
        await api.client.get(f"/v1/records/{ids[3]}", headers=api.as_role(Role.VIEWER))
    ).json()
    response = await api.client.post(
        "/v1/records/nearest",
        json={"features": record["features"], "k": 1},
        headers=api.as_role(Role.VIEWER),
    )
    assert response.status_code == 200, response.text
    (first,) = response.json()["items"]
    assert first["distance"] == pytest.approx(0.0, abs=1e-5)
    # Another record with the very same features is as near: either is the copy.
    same = [
        i
        for i in ids
        if (await api.client.get(f"/v1/records/{i}", headers=api.as_role(Role.VIEWER))).json()[
            "features"
        ]
        == record["features"]
    ]
    assert first["id"] in same


async def test_filters_restrict_the_neighbours(api: Api) -> None:
    ids = await pay(api, 10)
    await api.runtime.embedding_tasks.catch_up()
    for outcome in ("review", "decline", "approve"):
        response = await nearest(api, record_id=ids[0], k=50, outcome=outcome)
        assert response.status_code == 200
        assert {i["outcome"] for i in response.json()["items"]} <= {outcome}
    assert (await nearest(api, record_id=ids[0], label="fraud")).json()["items"] == []
    later = await nearest(api, record_id=ids[0], created_from="2100-01-01T00:00:00Z")
    assert later.json()["items"] == []
    other_model = await nearest(api, record_id=ids[0], model="no-such-model")
    assert other_model.json()["items"] == []


async def test_the_embedding_only_when_asked_for(api: Api) -> None:
    (record_id,) = await pay(api, 1)
    await api.runtime.embedding_tasks.catch_up()
    plain = await api.client.get(f"/v1/records/{record_id}", headers=api.as_role(Role.VIEWER))
    assert "embedding" not in plain.json()
    with_vector = await api.client.get(
        f"/v1/records/{record_id}",
        params={"include": "embedding"},
        headers=api.as_role(Role.VIEWER),
    )
    embedding = with_vector.json()["embedding"]
    assert (embedding["name"], embedding["version"], embedding["dim"]) == ("features", "1", 384)
    assert len(embedding["vector"]) == 384
    assert sum(v * v for v in embedding["vector"]) == pytest.approx(1.0, abs=1e-4)


async def test_errors_in_the_one_shape(api: Api) -> None:
    (record_id,) = await pay(api, 1)
    await api.runtime.embedding_tasks.catch_up()
    missing = await nearest(api, record_id="01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message", "details"}
    for params in ({"record_id": record_id, "k": 0}, {"record_id": record_id, "k": 1001}, {}):
        bad = await nearest(api, **params)
        assert bad.status_code == 422, params
        assert set(bad.json()) == {"code", "message", "details"}
    assert (await nearest(api, record_id=record_id, label="maybe")).status_code == 422
    headers = api.as_role(Role.VIEWER)
    for body in (
        {},
        {"record_id": record_id, "features": {}},
        {"features": {"no_such_feature": 1.0}},
        {"features": {FEATURE_NAMES[0]: "high"}},
        {"record_id": record_id, "created_from": "2026-01-01T00:00:00"},
    ):
        bad = await api.client.post("/v1/records/nearest", json=body, headers=headers)
        assert bad.status_code == 422, (body, bad.text)
        assert set(bad.json()) == {"code", "message", "details"}
    # k above the server's bound is cut to it, not refused.
    capped = await nearest(api, record_id=record_id, k=1000)
    assert capped.status_code == 200


async def test_roles(api: Api) -> None:
    (record_id,) = await pay(api, 1)
    await api.runtime.embedding_tasks.catch_up()
    anonymous = await api.client.get("/v1/records/nearest", params={"record_id": record_id})
    assert anonymous.status_code == 401
    for role in Role:
        assert (await nearest(api, role, record_id=record_id)).status_code == 200, role


async def test_a_record_not_yet_embedded_is_a_503_with_a_retry_hint(api: Api) -> None:
    (record_id,) = await pay(api, 1)
    response = await nearest(api, record_id=record_id)
    assert response.status_code == 503
    assert response.json()["details"]["record_id"] == record_id


@pytest.mark.settings(embeddings_enabled=True, embedding_interval=0.05)
async def test_the_background_loop_embeds_new_decisions(api: Api) -> None:
    ids = await pay(api, 3)
    for _ in range(200):
        response = await nearest(api, record_id=ids[0])
        if response.status_code == 200 and len(response.json()["items"]) == 2:
            break
        await asyncio.sleep(0.05)
    assert {i["id"] for i in response.json()["items"]} == set(ids[1:])


async def test_predictions_are_records_with_neighbours_too(api: Api) -> None:
    ids = await pay(api, 3)
    record = await api.client.get(f"/v1/records/{ids[0]}", headers=api.as_role(Role.VIEWER))
    features = record.json()["features"]
    prediction = {
        "id": new_id(),
        "model_name": "fraud",
        "model_version": "1",
        "features": features,
        "score": 0.42,
        "label": "legit",
        "explanations": [],
        "created_by": "test",
        "created_at": utcnow(),
    }
    async with api.runtime.engine.begin() as connection:  # as POST /v1/predict stores it
        await ml_repository.insert_prediction(connection, prediction)
    assert await api.runtime.embedding_tasks.catch_up() == 4
    response = await nearest(api, record_id=prediction["id"], k=1)
    (first,) = response.json()["items"]
    assert first["id"] == ids[0] and first["distance"] == pytest.approx(0.0, abs=1e-5)
    back = await nearest(api, record_id=ids[0], k=3, outcome="legit")
    assert [i["id"] for i in back.json()["items"]] == [prediction["id"]]
    assert back.json()["items"][0]["kind"] == "prediction"
