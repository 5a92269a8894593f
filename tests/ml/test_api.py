"""Models through the real app: decisions carry the champion's score, aliases hot-reload,
the scoring API validates and keeps records, drift reports are stored and served."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.db.base import table_of
from riskops.labels.models import Label
from riskops.ml.dataset import build_dataset
from riskops.ml.models import PredictionRecord
from riskops.ml.registry import Alias, ModelRegistry
from riskops.ml.service import open_registry
from riskops.ml.tasks import ModelTasks
from riskops.ml.training import TrainedModel
from riskops.runtime import Runtime
from tests.conftest import Api, create_keys, make_settings
from tests.payments import new_key, payment


@dataclass
class ModelApi(Api):
    tasks: ModelTasks
    registry: ModelRegistry


@pytest.fixture
async def model_api(
    database_url: str, tmp_path: Path, small_model: TrainedModel
) -> AsyncIterator[ModelApi]:
    settings = make_settings(
        tmp_path,
        database_url,
        model_serving=True,
        model_bootstrap=False,
        model_reload=timedelta(seconds=0.1),
        canary_share=0.0,
        review_threshold=0.0,  # every decision is explained: the test can see contributions
        run_workers=False,
    )
    registry = open_registry(settings)
    version = registry.register("fraud", small_model)
    registry.set_alias("fraud", Alias.CHAMPION, version.version)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        tasks: ModelTasks = app.state.runtime.model_tasks
        await asyncio.wait_for(tasks.ready.wait(), 60)
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield ModelApi(client, runtime, keys, tasks, registry)


async def submit(api: Api, **overrides: object) -> dict[str, object]:
    response = await api.client.post(
        "/v1/transactions",
        json=payment(**overrides),
        headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    document: dict[str, object] = response.json()
    return document


async def wait_for(condition: object, seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not callable(condition) or not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_decisions_carry_the_champions_score_and_explanations(model_api: ModelApi) -> None:
    decision = (await submit(model_api))["decision"]
    assert isinstance(decision, dict)
    assert decision["score_source"] == "model"
    assert (decision["model_name"], decision["model_version"]) == ("fraud", "1")
    assert decision["explanations"], "review threshold 0: every decision is explained"
    assert {"feature", "value", "contribution", "description"} <= set(decision["explanations"][0])


async def test_moving_the_champion_alias_hot_reloads_without_restart(
    model_api: ModelApi, other_model: TrainedModel
) -> None:
    first = (await submit(model_api))["decision"]
    assert isinstance(first, dict) and first["model_version"] == "1"
    second = model_api.registry.register("fraud", other_model)
    model_api.registry.set_alias("fraud", Alias.CHAMPION, second.version)
    await wait_for(lambda: model_api.runtime.models.installed(Alias.CHAMPION) == "2")
    after = (await submit(model_api))["decision"]
    assert isinstance(after, dict) and after["model_version"] == "2"
    # Rolling back is one alias move, picked up the same way.
    assert model_api.registry.rollback("fraud") == ("2", "1")
    await wait_for(lambda: model_api.runtime.models.installed(Alias.CHAMPION) == "1")
    back = (await submit(model_api))["decision"]
    assert isinstance(back, dict) and back["model_version"] == "1"


async def test_predict_keeps_a_record_and_lists_it(
    model_api: ModelApi, small_model: TrainedModel
) -> None:
    features = dict.fromkeys(small_model.features, 1)
    response = await model_api.client.post(
        "/v1/predict",
        json={"model_id": "fraud", "features": features},
        headers=model_api.as_role(Role.SERVICE),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model_name"], body["model_version"]) == ("fraud", "1")
    assert body["label"] == "fraud"  # review threshold 0 in this app
    expected = small_model.booster.predict([[1.0] * len(small_model.features)])[0]
    assert body["score"] == pytest.approx(expected, abs=1e-6)

    detail = await model_api.client.get(
        f"/v1/records/{body['record_id']}", headers=model_api.as_role(Role.VIEWER)
    )
    assert detail.status_code == 200
    assert detail.json()["features"] == {k: float(v) for k, v in features.items()}
    assert detail.json()["kind"] == "prediction"

    decided = await submit(model_api)
    listed = await model_api.client.get(
        "/v1/records", params={"model": "fraud"}, headers=model_api.as_role(Role.VIEWER)
    )
    kinds = {(item["kind"], item["id"]) for item in listed.json()["items"]}
    assert kinds == {("prediction", body["record_id"]), ("decision", decided["id"])}
    only = await model_api.client.get(
        "/v1/records",
        params={"label": "fraud", "min_score": 0.0},
        headers=model_api.as_role(Role.VIEWER),
    )
    assert [item["id"] for item in only.json()["items"]] == [body["record_id"]]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"model_id": "nope", "features": {}}, 404, "not_found"),
        ({"model_id": "fraud:99", "features": {}}, 404, "not_found"),
        ({"model_id": "fraud@nonsense", "features": {}}, 404, "not_found"),
        ({"model_id": "fraud", "features": {"card_count_1h": 1}}, 422, "invalid_features"),
        ({"model_id": "fraud", "features": "x"}, 422, "validation_error"),
        ({"features": {}}, 422, "validation_error"),
    ],
)
async def test_predict_refuses_bad_input_and_stores_nothing(
    model_api: ModelApi, payload: dict[str, object], status: int, code: str
) -> None:
    response = await model_api.client.post(
        "/v1/predict", json=payload, headers=model_api.as_role(Role.SERVICE)
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await count_records(model_api) == 0


async def test_predict_names_missing_wrong_and_unknown_features(
    model_api: ModelApi, small_model: TrainedModel
) -> None:
    features: dict[str, object] = dict.fromkeys(small_model.features, 0)
    del features["card_count_1h"]
    features["card_count_24h"] = "seven"
    features["is_weekend"] = True
    features["shoe_size"] = 44
    response = await model_api.client.post(
        "/v1/predict",
        json={"model_id": "fraud", "features": features},
        headers=model_api.as_role(Role.SERVICE),
    )
    assert response.status_code == 422
    details = response.json()["details"]
    fields = details.pop("fields")
    assert details == {
        "missing": ["card_count_1h"],
        "unknown": ["shoe_size"],
        "not_numeric": ["card_count_24h", "is_weekend"],
        "request_id": response.headers["X-Request-ID"],
    }
    assert {(f["field"], f["problem"], f.get("expected")) for f in fields} == {
        ("card_count_1h", "missing", "a number"),
        ("card_count_24h", "wrong_type", "a number"),
        ("is_weekend", "wrong_type", "a number"),
        ("shoe_size", "unknown", None),
    }
    assert await count_records(model_api) == 0


async def test_scoring_api_checks_roles(model_api: ModelApi) -> None:
    body = {"model_id": "fraud", "features": {}}
    assert (await model_api.client.post("/v1/predict", json=body)).status_code == 401
    viewer = model_api.as_role(Role.VIEWER)
    forbidden = await model_api.client.post("/v1/predict", json=body, headers=viewer)
    assert forbidden.status_code == 403
    assert (await model_api.client.get("/v1/records")).status_code == 401
    assert (await model_api.client.get("/v1/metadata")).status_code == 401
    missing = await model_api.client.get("/v1/records/nothing", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_metadata_gives_each_served_models_feature_schema(
    model_api: ModelApi, small_model: TrainedModel
) -> None:
    response = await model_api.client.get("/v1/metadata", headers=model_api.as_role(Role.VIEWER))
    assert response.status_code == 200
    (model,) = response.json()["models"]
    assert (model["name"], model["version"], model["aliases"]) == ("fraud", "1", ["champion"])
    assert [f["name"] for f in model["features"]] == small_model.features
    assert all(f["type"] == "number" and f["description"] for f in model["features"])
    assert model["metrics"]["auc"] == pytest.approx(small_model.metrics["auc"])


async def test_drift_reports_are_computed_stored_and_served(model_api: ModelApi) -> None:
    for amount in (100, 2_000, 90_000, 500, 12_000):
        await submit(model_api, amount_minor=amount)
    report = await model_api.tasks.drift()
    assert report is not None and report["rows"] == 5
    assert report["score_psi"] is not None and report["max_psi"] >= report["score_psi"] - 1e-9
    response = await model_api.client.get(
        "/v1/models/fraud/drift", headers=model_api.as_role(Role.VIEWER)
    )
    (served,) = response.json()["reports"]
    assert served["id"] == report["id"]
    assert served["features_psi"]["card_count_1h"] >= 0
    assert served["max_psi_feature"] in served["features_psi"]


async def test_training_sets_use_only_labels_known_at_the_cutoff(model_api: ModelApi) -> None:
    early = await submit(model_api, account_id="acct-early")
    late = await submit(model_api, account_id="acct-late")
    genuine = await submit(model_api, account_id="acct-genuine")
    cutoff = datetime.now(UTC) + timedelta(days=1)
    labels = table_of(Label)
    async with model_api.runtime.engine.begin() as connection:
        await connection.execute(
            insert(labels),
            [
                label_row(early["id"], 1, cutoff - timedelta(hours=1)),
                label_row(late["id"], 1, cutoff + timedelta(seconds=1)),
                label_row(genuine["id"], 0, cutoff - timedelta(hours=1)),
            ],
        )
    start = datetime.now(UTC) - timedelta(days=1)
    frame = await build_dataset(model_api.runtime.engine, start, cutoff, cutoff)
    by_id = dict(zip(frame["transaction_id"], frame["label"], strict=True))
    assert by_id == {early["id"]: 1, late["id"]: 0, genuine["id"]: 0}
    # A day later the late label is known too.
    later = await build_dataset(model_api.runtime.engine, start, cutoff, cutoff + timedelta(days=1))
    assert dict(zip(later["transaction_id"], later["label"], strict=True))[late["id"]] == 1


def label_row(transaction_id: object, label: int, at: datetime) -> dict[str, object]:
    return {
        "id": f"lbl-{transaction_id}"[:26],
        "transaction_id": transaction_id,
        "label": label,
        "source": "chargeback",
        "labelled_at": at,
        "created_at": at,
        "event_id": None,
    }


async def count_records(api: Api) -> int:
    async with api.runtime.engine.connect() as connection:
        return int(
            await connection.scalar(select(func.count()).select_from(table_of(PredictionRecord)))
            or 0
        )


async def test_drift_on_demand_is_for_administrators(model_api: ModelApi) -> None:
    await submit(model_api)
    viewer = await model_api.client.post(
        "/v1/models/fraud/drift", headers=model_api.as_role(Role.VIEWER)
    )
    assert viewer.status_code == 403
    unknown = await model_api.client.post(
        "/v1/models/other/drift", headers=model_api.as_role(Role.ADMIN)
    )
    assert unknown.status_code == 404
    bad = await model_api.client.post(
        "/v1/models/fraud/drift", params={"hours": -1}, headers=model_api.as_role(Role.ADMIN)
    )
    assert bad.status_code == 422
    made = await model_api.client.post(
        "/v1/models/fraud/drift", params={"hours": 1}, headers=model_api.as_role(Role.ADMIN)
    )
    assert made.status_code == 201
    assert made.json()["rows"] == 1
    listed = await model_api.client.get(
        "/v1/models/fraud/drift", headers=model_api.as_role(Role.VIEWER)
    )
    assert [r["id"] for r in listed.json()["reports"]] == [made.json()["id"]]


async def test_versions_list_aliases_and_metrics(model_api: ModelApi) -> None:
    response = await model_api.client.get(
        "/v1/models/fraud/versions", headers=model_api.as_role(Role.VIEWER)
    )
    assert response.status_code == 200
    (only,) = response.json()
    assert (only["version"], only["aliases"]) == ("1", ["champion"])
    assert 0.5 < only["metrics"]["auc"] <= 1.0
    missing = await model_api.client.get(
        "/v1/models/nothing/versions", headers=model_api.as_role(Role.VIEWER)
    )
    assert missing.status_code == 404


def metric(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_traffic_and_psi_are_exported_as_metrics(model_api: ModelApi) -> None:
    series = 'riskops_model_scores_total{alias="champion",model="fraud",version="1"}'
    reader = model_api.as_role(Role.VIEWER)
    before = metric((await model_api.client.get("/metrics", headers=reader)).text, series)
    await submit(model_api)
    await submit(model_api)
    report = await model_api.tasks.drift()
    assert report is not None
    text = (await model_api.client.get("/metrics", headers=reader)).text
    assert metric(text, series) == before + 2
    psi = 'riskops_model_psi{model="fraud",variable="__score__",version="1"}'
    assert metric(text, psi) == pytest.approx(report["score_psi"])
