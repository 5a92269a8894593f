"""Records and predict pages (seed 004) against a real registry with a small trained model."""

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.ml.registry import Alias
from riskops.ml.service import open_registry, train_synthetic
from riskops.ml.tasks import ModelTasks
from riskops.ml.training import TrainedModel, TrainingConfig
from riskops.runtime import Runtime
from tests.conftest import Api, create_keys, make_settings
from tests.payments import new_key, payment, row_counts
from tests.web.console import sign_in

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"


@pytest.fixture(scope="module")
def small_model() -> TrainedModel:
    return train_synthetic(3_000, seed=5, config=TrainingConfig(max_rounds=30, n_jobs=1))


@pytest.fixture
async def served(tmp_path: Path, small_model: TrainedModel) -> AsyncIterator[Api]:
    settings = make_settings(
        tmp_path, None, model_serving=True, model_bootstrap=False, run_workers=False
    )
    registry = open_registry(settings)
    version = registry.register("fraud", small_model)
    registry.set_alias("fraud", Alias.CHAMPION, version.version)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        tasks: ModelTasks = app.state.runtime.model_tasks
        await asyncio.wait_for(tasks.ready.wait(), 60)
        runtime: Runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield Api(client, runtime, keys)


async def test_predict_form_follows_the_models_schema_and_keeps_a_record(
    served: Api, small_model: TrainedModel
) -> None:
    csrf = await sign_in(served.client, served.keys[Role.ANALYST])
    page = await served.client.get("/predict")
    assert page.status_code == 200
    fields = re.findall(r'name="f:([a-z0-9_]+)"', page.text)
    assert sorted(fields) == sorted(small_model.features)  # grouped, every feature once
    assert "fraud v1 (champion)" in page.text
    form = {f"f:{name}": "1" for name in fields} | {"model_id": "fraud:1", "csrf_token": csrf}
    scored = await served.client.post("/predict", data=form)
    assert scored.status_code == 201, scored.text
    record_id = re.search(r"record <code>([0-9A-Z]+)</code>", scored.text)
    assert record_id is not None
    api = await served.client.post(
        "/v1/predict",
        json={"model_id": "fraud:1", "features": dict.fromkeys(fields, 1)},
        headers=served.as_role(Role.ANALYST),
    )
    assert f"{api.json()['score']:.3f}" in scored.text  # same model, same features, same score
    listed = await served.client.get("/records?label=" + api.json()["label"])
    assert record_id.group(1)[-10:] in listed.text
    detail = await served.client.get(f"/records/{record_id.group(1)}")
    assert "Prediction" in detail.text
    assert fields[0] in detail.text


async def test_predict_refuses_bad_features_and_viewers_inline(served: Api) -> None:
    csrf = await sign_in(served.client, served.keys[Role.ANALYST])
    page = await served.client.get("/predict")
    fields = re.findall(r'name="f:([a-z0-9_]+)"', page.text)
    before = await row_counts(served.runtime.engine)
    form = {f"f:{name}": "1" for name in fields[1:]} | {f"f:{fields[1]}": "lots"}
    bad = await served.client.post(
        "/predict", data=form | {"model_id": "fraud:1", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "invalid_features" in bad.text
    assert f"<code>{fields[0]}</code> is missing: expected a number" in bad.text
    assert f"<code>{fields[1]}</code> expected a number" in bad.text
    viewer = httpx.AsyncClient(transport=served.client._transport, base_url="http://riskops.test")
    async with viewer:
        token = await sign_in(viewer, served.keys[Role.VIEWER])
        full = {f"f:{name}": "1" for name in fields} | {"model_id": "fraud:1", "csrf_token": token}
        refused = await viewer.post("/predict", data=full)
        assert refused.status_code == 403
        assert "may not submit payments" in refused.text
    assert await row_counts(served.runtime.engine) == before


async def test_records_list_decisions_with_filters_and_a_detail(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.VIEWER])
    empty = await api.client.get("/records")
    assert "No records yet" in empty.text
    ids = []
    for country in ("DE", "KP", "DE"):
        response = await api.client.post(
            "/v1/transactions",
            json=payment(merchant_country=country),
            headers={**api.as_role(Role.ANALYST), "Idempotency-Key": new_key()},
        )
        ids.append(response.json()["id"])
    page = await api.client.get("/records")
    assert "1\u20133 of 3" in page.text
    declined = await api.client.get("/records?label=decline")
    assert "1\u20131 of 1" in declined.text
    assert ids[1][-10:] in declined.text
    detail = await api.client.get(f"/records/{ids[1]}")
    assert f'href="/transactions/{ids[1]}"' in detail.text
    assert "card_count_1h" in detail.text
    missing = await api.client.get("/records/nope")
    assert missing.status_code == 404
    assert "record nope does not exist" in missing.text
    bad = await api.client.get("/records?label=maybe")
    assert bad.status_code == 400
    no_models = await api.client.get("/predict")
    assert "No models to show yet" in no_models.text


async def test_predict_form_starts_from_a_typical_payment_in_groups(
    served: Api, small_model: TrainedModel
) -> None:
    csrf = await sign_in(served.client, served.keys[Role.ANALYST])
    page = (await served.client.get("/predict")).text
    assert small_model.typical and "Prefilled with a typical genuine payment" in page
    values = dict(re.findall(r'name="f:([a-z0-9_]+)" inputmode="decimal" value="([^"]*)"', page))
    assert values == {name: f"{small_model.typical[name]:g}" for name in small_model.features}
    groups = re.findall(r'<details class="feature-group" data-group="(\w+)" ?(open)?>', page)
    assert groups[0] == ("payment", "open")
    assert {g for g, _ in groups} >= {"payment", "card", "account", "merchant"}
    assert all(not is_open for g, is_open in groups[1:])  # the histories start folded
    # Submitted as shown, the typical payment is not fraud.
    form = {f"f:{name}": value for name, value in values.items()}
    scored = await served.client.post(
        "/predict", data=form | {"model_id": "fraud:1", "csrf_token": csrf}
    )
    assert scored.status_code == 201
    assert 'class="badge badge-legit"' in scored.text, scored.text[:400]


async def test_status_line_says_which_champion_serves_or_that_one_trains(served: Api) -> None:
    await sign_in(served.client, served.keys[Role.VIEWER])
    page = (await served.client.get("/records")).text
    assert 'data-model-state="serving"' in page and "model: fraud v1" in page
    assert "Training the first champion" not in page
    server = served.runtime.models
    champion = server.models.pop(Alias.CHAMPION)
    server.training_since = datetime.now(UTC)
    try:
        training = (await served.client.get("/records")).text
    finally:
        server.models[Alias.CHAMPION] = champion
        server.training_since = None
    assert 'data-model-state="training"' in training
    assert "Training the first champion model" in training
    assert "decided by the rules alone" in training
