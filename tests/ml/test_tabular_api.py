"""A model trained on a table through the real app: its first version is champion and served
by POST /v1/predict at once, its typed schema is in /v1/metadata, requests are validated
against it field by field, and the fraud model keeps working beside it."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from riskops.app import create_app
from riskops.audit import service as audit
from riskops.audit.service import AuditFilter
from riskops.auth.roles import Role
from riskops.core.errors import Conflict
from riskops.db.base import table_of
from riskops.ml.models import PredictionRecord
from riskops.ml.records import ALIAS_TTL_SECONDS
from riskops.ml.registry import Alias, ModelRegistry
from riskops.ml.service import open_registry
from riskops.ml.tabular_service import TableSpec, promote_table_model, train_from_table
from riskops.ml.training import TrainedModel, TrainingConfig
from riskops.runtime import Runtime
from tests.conftest import Api, create_keys, make_settings
from tests.ml.tables import COUNTRIES, write_table

FAST = TrainingConfig(max_rounds=60, n_jobs=1)


@dataclass
class TableApi(Api):
    registry: ModelRegistry
    table: Path


@pytest.fixture
async def table_api(
    database_url: str, tmp_path: Path, small_model: TrainedModel
) -> AsyncIterator[TableApi]:
    settings = make_settings(
        tmp_path,
        database_url,
        model_serving=True,
        model_bootstrap=False,
        model_reload=timedelta(seconds=0.1),
        run_workers=False,
    )
    registry = open_registry(settings)
    version = registry.register("fraud", small_model)
    registry.set_alias("fraud", Alias.CHAMPION, version.version)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await asyncio.wait_for(runtime.model_tasks.ready.wait(), 60)
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield TableApi(client, runtime, keys, registry, write_table(tmp_path))


async def train(api: TableApi, name: str = "claims") -> str:
    spec = TableSpec(api.table, "is_fraud", name, time_column="seen_at")
    outcome = await train_from_table(api.runtime.engine, api.registry, spec, config=FAST)
    return f"{outcome.alias.value}:{outcome.version.version}:{outcome.gates.passed}"


async def predict(api: TableApi, model_id: str, features: dict[str, object]) -> httpx.Response:
    return await api.client.post(
        "/v1/predict",
        json={"model_id": model_id, "features": features},
        headers=api.as_role(Role.ANALYST),
    )


TYPICAL = {"amount": 80.0, "country": "DE", "channel": "pos", "age": 41}


async def test_the_first_version_is_champion_and_served_at_once(table_api: TableApi) -> None:
    unknown = await predict(table_api, "claims", TYPICAL)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert await train(table_api) == "champion:1:True"
    risky = await predict(table_api, "claims", {**TYPICAL, "country": "KP", "amount": 900.0})
    usual = await predict(table_api, "claims", {**TYPICAL, "channel": None, "age": None})
    assert risky.status_code == usual.status_code == 200, risky.text
    assert risky.json()["model_name"] == "claims" and risky.json()["model_version"] == "1"
    assert risky.json()["score"] > usual.json()["score"]
    country = next(e for e in risky.json()["explanations"] if e["feature"] == "country")
    assert country["value"] == "KP"  # as sent, not its code
    records = table_of(PredictionRecord)
    async with table_api.runtime.engine.connect() as connection:
        kept = (await connection.execute(select(records.c.features))).scalars().all()
    assert {"amount": 80.0, "country": "DE", "channel": None, "age": None} in kept
    # The fraud model serves as before, beside it.
    fraud = await table_api.client.get("/v1/metadata", headers=table_api.as_role(Role.VIEWER))
    by_name = {m["name"]: m for m in fraud.json()["models"]}
    assert set(by_name) == {"claims", "fraud"}
    assert all(f["type"] == "number" for f in by_name["fraud"]["features"])


async def test_metadata_gives_the_typed_schema(table_api: TableApi) -> None:
    await train(table_api)
    response = await table_api.client.get("/v1/metadata", headers=table_api.as_role(Role.VIEWER))
    (claims,) = [m for m in response.json()["models"] if m["name"] == "claims"]
    fields = {f["name"]: f for f in claims["features"]}
    assert list(fields) == ["amount", "country", "channel", "age"]
    assert fields["country"]["type"] == "category"
    assert fields["country"]["categories"] == COUNTRIES
    assert fields["age"]["type"] == "integer" and fields["age"]["nullable"] is True
    assert fields["amount"]["minimum"] < fields["amount"]["typical"] < fields["amount"]["maximum"]
    assert fields["channel"]["typical"] in {"pos", "web"}
    assert claims["aliases"] == ["champion"] and claims["metrics"]["auc"] > 0.7


# (payload, field, problem, what the error says is expected); None: nothing is expected.
INVALID = [
    ({**TYPICAL, "amount": "eighty"}, "amount", "wrong_type", "a number"),
    ({**TYPICAL, "amount": True}, "amount", "wrong_type", "a number"),
    ({**TYPICAL, "age": 41.5}, "age", "wrong_type", "an integer or null"),
    ({**TYPICAL, "country": "XX"}, "country", "unknown_category", "one of 'DE', 'FR'"),
    ({**TYPICAL, "country": 7}, "country", "unknown_category", "one of"),
    ({**TYPICAL, "country": None}, "country", "wrong_type", "one of"),
    ({k: v for k, v in TYPICAL.items() if k != "amount"}, "amount", "missing", "a number"),
    ({**TYPICAL, "shoe_size": 44}, "shoe_size", "unknown", None),
]


async def test_requests_are_validated_against_the_models_schema(table_api: TableApi) -> None:
    await train(table_api)
    for features, field, problem, expected in INVALID:
        response = await predict(table_api, "claims", features)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "invalid_features"
        assert body["details"]["request_id"] == response.headers["X-Request-ID"]
        (error,) = body["details"]["fields"]
        assert (error["field"], error["problem"]) == (field, problem)
        assert (expected is None) == ("expected" not in error)
        if expected is not None:
            assert error["expected"].startswith(expected)
        if field == "country":
            assert error["categories"] == COUNTRIES
        assert field in body["message"]
    records = table_of(PredictionRecord)
    async with table_api.runtime.engine.connect() as connection:
        stored = (await connection.execute(select(records.c.id))).all()
    assert stored == []  # a refused request keeps nothing


async def test_a_second_version_is_gated_against_the_champion(table_api: TableApi) -> None:
    await train(table_api)
    second = await train(table_api)
    assert second.startswith("challenger:2:")
    assert table_api.registry.alias_version("claims", Alias.CHAMPION) == "1"
    challenger = await predict(table_api, "claims@challenger", TYPICAL)
    assert challenger.json()["model_version"] == "2"
    second_version = table_api.registry.versions("claims")[1]
    assert second_version.metrics["auc"] > 0.7
    # Promotion re-runs the gates on the challenger's stored holdout, the champion beside it.
    engine, registry = table_api.runtime.engine, table_api.registry
    result = await promote_table_model(engine, registry, "claims", "2")
    assert result.passed and [c.name for c in result.checks] == ["auc", "psi", "canary"]
    assert registry.alias_version("claims", Alias.CHAMPION) == "2"
    assert registry.alias_version("claims", Alias.CHALLENGER) is None
    with pytest.raises(Conflict, match="already the champion"):
        await promote_table_model(engine, registry, "claims", "2")
    await asyncio.sleep(ALIAS_TTL_SECONDS)  # the API's alias answers are kept this long
    promoted = await predict(table_api, "claims", TYPICAL)
    assert promoted.json()["model_version"] == "2"


async def test_a_table_model_is_promoted_aliased_and_rolled_back_by_an_administrator(
    table_api: TableApi,
) -> None:
    await train(table_api)
    assert (await train(table_api)).startswith("challenger:2:")
    client, admin = table_api.client, table_api.as_role(Role.ADMIN)
    analyst = table_api.as_role(Role.ANALYST)
    refused = await client.post("/v1/models/claims/promote", json={"version": "2"}, headers=analyst)
    assert refused.status_code == 403, refused.text
    assert refused.json()["details"]["request_id"] == refused.headers["X-Request-ID"]
    unknown = await client.post("/v1/models/nothing/promote", json={"version": "1"}, headers=admin)
    assert unknown.status_code == 404 and "no registered version" in unknown.json()["message"]

    # The gates run on the challenger's stored holdout, as `riskops models promote --name`.
    promoted = await client.post("/v1/models/claims/promote", json={"version": "2"}, headers=admin)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["champion"] == "2" and promoted.json()["forced"] is False
    assert table_api.registry.alias_version("claims", Alias.CHAMPION) == "2"
    again = await client.post("/v1/models/claims/promote", json={"version": "2"}, headers=admin)
    assert again.status_code == 409

    path = "/v1/models/claims/aliases/shadow"
    shadow = await client.put(path, json={"version": "1"}, headers=admin)
    assert shadow.status_code == 200 and shadow.json()["previous"] is None
    assert table_api.registry.alias_version("claims", Alias.SHADOW) == "1"
    cleared = await client.delete(path, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["previous"] == "1"
    back = await client.post("/v1/models/claims/rollback", headers=admin)
    assert back.status_code == 200, back.text
    assert back.json() == {"model_name": "claims", "previous_champion": "2", "champion": "1"}
    assert table_api.registry.alias_version("claims", Alias.CHAMPION) == "1"
    # The fraud model's aliases did not move.
    assert table_api.registry.alias_version("fraud", Alias.CHAMPION) == "1"

    async with table_api.runtime.engine.connect() as connection:
        logged, _ = await audit.list_entries(connection, AuditFilter(), 50, None, 50)
    changes = [(e["action"], e["target"]) for e in reversed(logged) if "model" in e["action"]]
    # Training set the champion (v1) and the challenger (v2); then the four changes above.
    assert changes[2:] == [
        ("model.promoted", "model:claims"), ("model.alias_set", "model:claims"),
        ("model.alias_cleared", "model:claims"), ("model.rolled_back", "model:claims"),
    ]  # fmt: skip
