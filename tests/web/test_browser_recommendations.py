"""The recommendation queue in a real browser: the scan (running in the server, every second
here) finds a merchant with confirmed fraud and a card-testing ring; an analyst filters,
rejects one with a reason and acknowledges the other, opening a case and blocking the device.
Screenshots in test-artifacts/console/."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, sign_in, submit_api
from tests.web.test_browser_cases import api_get, card, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(
        tmp_path_factory.mktemp("recommendations"),
        model_serving="false",
        recommendation_scan_interval="1",
    ) as running:
        yield running


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def label_fraud(server: LiveServer, transaction_id: str) -> None:
    response = httpx.post(
        f"{server.url}/v1/transactions/{transaction_id}/label",
        json={"label": "fraud", "source": "chargeback"},
        headers={"Authorization": f"Bearer {server.keys[Role.ANALYST]}"},
    )
    assert response.status_code == 201, response.text


def queued(server: LiveServer, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        items: list[dict[str, Any]] = api_get(server, "/v1/recommendations")["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.5)


def test_the_queue_shows_what_the_scan_found_and_an_analyst_acts_on_it(
    page: Page, server: LiveServer
) -> None:
    service = server.keys[Role.SERVICE]
    for i in range(3):  # a terminal whose payments come back as chargebacks
        paid = submit_api(server, service, account_id=f"acct-t{i}", card_number=card(60 + i),
                          merchant_id="m-terminal-7", amount_minor=4_200 + i)  # fmt: skip
        if i < 2:
            label_fraud(server, paid["id"])
    for i in range(6):  # small probes of three cards behind one device
        submit_api(server, service, account_id="acct-probe", card_number=card(70 + i % 3),
                   amount_minor=120 + i, merchant_id=f"m-shop-{i}",
                   device_id="dev-tester-1")  # fmt: skip
    items = queued(server, 2)
    assert {i["pattern"] for i in items} >= {"merchant_confirmed_fraud", "card_testing_ring"}

    sign_in(page, server.keys[Role.ANALYST])
    page.get_by_role("link", name="Recommendations").click()
    expect(page.get_by_role("heading", name="Recommendations", exact=True)).to_be_visible()
    rows = page.locator("tr[data-recommendation]")
    expect(rows).to_have_count(len(items))
    ring = page.locator("tr", has_text="card testing ring")
    expect(ring).to_contain_text("dev-tester-1")
    expect(ring).to_contain_text("of 3 different cards")
    terminal = page.locator("tr", has_text="merchant confirmed fraud")
    expect(terminal).to_contain_text("m-terminal-7")
    shot(page, "50-recommendations-queue", full_page=True)

    # Filters: only devices.
    page.get_by_label("Entity").select_option("device")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("dev-tester-1")
    page.get_by_role("link", name="Clear").click()

    # Reject needs a reason (the browser refuses an empty one), then it is kept with it.
    rejected = terminal.get_attribute("data-recommendation")
    terminal.get_by_role("button", name="Reject").click()
    expect(page).to_have_url(f"{server.url}/recommendations")
    terminal.get_by_label("Reason for rejecting").fill("our own test terminal")
    terminal.get_by_role("button", name="Reject").click()
    expect(page.locator(".alert.ok")).to_contain_text("rejected")
    # That entry leaves the open queue (a later scan may open a new one on newer evidence).
    expect(page.locator(f'tr[data-recommendation="{rejected}"]')).to_have_count(0)

    # Acknowledge the ring: a case on its newest payment and the device on the block list.
    ring.get_by_label("open a case").check()
    ring.get_by_label("block: add to blocked_devices").check()
    ring.get_by_label("Note").fill("one tester, three cards")
    ring.get_by_role("button", name="Acknowledge").click()
    flash = page.locator(".alert.ok")
    expect(flash).to_contain_text("acknowledged, entry added to blocked_devices")
    expect(flash.get_by_role("link")).to_contain_text("case")

    page.goto("/recommendations?status=")
    done = page.locator("tr[data-recommendation]")
    expect(done).to_have_count(len(items))
    expect(page.locator("tr", has_text="card testing ring")).to_contain_text("acknowledged")
    expect(page.locator("tr", has_text="merchant confirmed fraud")).to_contain_text(
        "our own test terminal"
    )
    shot(page, "51-recommendations-acted", full_page=True)
    blocked = api_get(server, "/v1/lists/blocked_devices/entries")["items"]
    assert [e["value"] for e in blocked] == ["dev-tester-1"]
