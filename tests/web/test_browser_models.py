"""Records and predict in a real browser, against a live server serving a small champion.

Screenshots go to test-artifacts/console/ (20-29) for a human to look at.
"""

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from riskops.ml.registry import Alias, MlflowRegistry, default_tracking_uri
from riskops.ml.service import train_synthetic
from riskops.ml.training import TrainingConfig
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in, submit_api

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    data_dir = tmp_path_factory.mktemp("console-models")
    # A small champion registered before the start: no minute-long first training here.
    model = train_synthetic(3_000, seed=5, config=TrainingConfig(max_rounds=40, n_jobs=1))
    registry = MlflowRegistry(
        default_tracking_uri(data_dir), artifact_root=data_dir / "mlartifacts"
    )
    version = registry.register("fraud", model)
    registry.set_alias("fraud", Alias.CHAMPION, version.version)
    with live_server(data_dir, model_bootstrap="false", model_reload="PT0.5S") as running:
        analyst = running.keys[Role.ANALYST]
        wait_for_the_champion(running)  # the seeded payments are scored by it
        for i in range(12):
            country = "KP" if i % 4 == 0 else "DE"
            submit_api(running, analyst, account_id=f"acct-{i % 3:04d}",
                       amount_minor=1_500 + 250 * i, merchant_country=country)  # fmt: skip
        yield running


def wait_for_the_champion(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.keys[Role.VIEWER]}"}
    deadline = time.monotonic() + 120  # MLflow's import alone takes seconds on a busy machine
    while time.monotonic() < deadline:
        found = httpx.get(f"{server.url}/v1/metadata", headers=headers, timeout=10)
        if found.status_code == 200 and found.json()["models"]:
            time.sleep(1.5)  # the alias poll installs it right after the registry opens
            return
        time.sleep(0.5)
    raise AssertionError("the champion never appeared in /v1/metadata")


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_the_status_line_names_the_serving_champion(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    status = page.locator(".model-status")
    deadline = time.monotonic() + 90  # the registry opens in the background after the start
    while status.get_attribute("data-model-state") != "serving" and time.monotonic() < deadline:
        assert status.get_attribute("data-model-state") in ("loading", "serving")
        page.wait_for_timeout(500)
        page.reload()
    expect(status).to_have_attribute("data-model-state", "serving")
    expect(status).to_contain_text("model: fraud v1")
    icon = page.locator('link[rel="icon"]')
    assert page.request.get(icon.get_attribute("href") or "").ok


def test_records_filter_and_open_a_detail(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    page.get_by_role("link", name="Records").click()
    rows = page.locator("table.data tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 12
    expect(rows.filter(has_text="fraud v1").first).to_be_visible()  # scored by the champion
    shot(page, "20-records")
    page.get_by_label("Label").select_option("decline")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"label=decline"))
    expect(rows.first).to_be_visible()
    expect(page.locator("table.data .badge-approve")).to_have_count(0)
    rows.first.locator("a, button").first.click()
    dialog = page.locator("#record-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Features")).to_be_visible()
    expect(dialog).to_contain_text("card_count_1h")
    shot(page, "21-record-detail")


def test_predict_starts_from_a_typical_payment(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.ANALYST])
    page.get_by_role("link", name="Predict").click()
    form = page.locator("#predict-form")
    expect(form).to_contain_text("Prefilled with a typical genuine payment")
    groups = form.locator("details.feature-group")
    expect(groups.first).to_have_attribute("open", "")
    assert groups.count() >= 4
    assert form.locator("details.feature-group[open]").count() == 1  # histories folded
    box = form.bounding_box()
    assert box is not None and box["height"] < 1600, box  # not 94 inputs down the page
    shot(page, "22-predict-form")
    page.get_by_role("button", name="Score").click()
    result = page.locator("#prediction")
    expect(result.locator(".badge-legit")).to_be_visible()
    shot(page, "23-predict-typical")
    page.get_by_label(re.compile("card_new_country")).fill("1")
    page.get_by_label(re.compile("account_new_device")).fill("1")
    form.locator('details[data-group="card"] summary').click()
    page.get_by_label(re.compile("^card_count_5m")).fill("9")
    page.get_by_role("button", name="Score").click()
    expect(result.locator(".bars li").first).to_be_visible()
    labels = result.locator(".bar-label code").all_inner_texts()
    assert len(labels) == len(set(labels)), labels  # every row names its own feature
    shot(page, "24-predict-changed")
