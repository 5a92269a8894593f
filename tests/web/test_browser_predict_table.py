"""The predict form of a model trained on any table, in a real browser: its fields follow the
model's typed schema (categories as choices), start at typical values, and a bad value is
named with what the field expects.

Screenshots go to test-artifacts/console/ (25-27) for a human to look at.
"""

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from riskops.ml.registry import Alias, MlflowRegistry, default_tracking_uri
from riskops.ml.service import train_synthetic
from riskops.ml.tabular import prepare, read_sidecar, train_table
from riskops.ml.training import TrainingConfig
from tests.ml.tables import make_table
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in
from tests.web.test_browser_models import wait_for_the_champion

pytestmark = pytest.mark.browser
NOTES = {
    "amount": "Claimed amount in EUR",
    "country": "Country the claim was filed from",
    "channel": "Where it was filed (empty: unknown)",
    "age": "Claimant's age in years",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    data_dir = tmp_path_factory.mktemp("console-table-model")
    config = TrainingConfig(max_rounds=40, n_jobs=1)
    registry = MlflowRegistry(
        default_tracking_uri(data_dir), artifact_root=data_dir / "mlartifacts"
    )
    fraud = registry.register("fraud", train_synthetic(3_000, seed=5, config=config))
    registry.set_alias("fraud", Alias.CHAMPION, fraud.version)
    notes = data_dir / "claims.json"
    notes.write_text(json.dumps(NOTES))
    table = prepare(make_table(), "is_fraud", time_column="seen_at", sidecar=read_sidecar(notes))
    claims = registry.register("claims", train_table(table, config))
    registry.set_alias("claims", Alias.CHAMPION, claims.version)
    with live_server(data_dir, model_bootstrap="false", model_reload="PT0.5S") as running:
        wait_for_the_champion(running)
        yield running


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_predict_with_a_table_model(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.ANALYST])
    page.goto("/predict")
    form = page.locator("#predict-form")
    form.get_by_label("Model").select_option("claims:1")
    expect(form).to_contain_text("Prefilled with typical values")
    country = form.locator('select[name="f:country"]')
    expect(country).to_have_value(make_table()["country"].mode()[0])
    assert country.locator("option").all_inner_texts() == ["DE", "FR", "KP", "US"]
    channel = form.locator('select[name="f:channel"]')
    assert channel.locator("option").first.inner_text() == "(missing)"  # nullable
    amount = form.locator('input[name="f:amount"]')
    assert float(amount.input_value()) == pytest.approx(make_table()["amount"].median(), rel=1e-3)
    expect(form).to_contain_text("Claimed amount in EUR")
    expect(form).to_contain_text("seen in training")
    shot(page, "25-predict-table-form")

    page.get_by_role("button", name="Score").click()
    result = page.locator("#prediction")
    expect(result).to_contain_text("Model claims v1")
    typical = float(result.locator("h2 .num").inner_text())
    country.select_option("KP")
    amount.fill("900")
    page.get_by_role("button", name="Score").click()
    expect(result.locator(".bar-label").filter(has_text="KP")).to_be_visible()
    risky = float(result.locator("h2 .num").inner_text())
    assert risky > typical
    shot(page, "26-predict-table-scored")

    amount.fill("a lot")
    page.get_by_role("button", name="Score").click()
    error = result.locator(".alert.error")
    expect(error).to_contain_text(re.compile(r"amount\s+expected a number"))
    shot(page, "27-predict-table-invalid")
