"""The console in a real browser: Debian's Chromium driven by Playwright against a live server.

Each page is screenshotted into test-artifacts/console/ for a human to look at.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from tests.engines import in_ci
from tests.payments import CARD
from tests.web.server import ROOT, LiveServer, live_server

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("RISKOPS_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts" / "console"
VENDOR = ROOT / "src" / "riskops" / "web" / "static" / "vendor" / "htmx.min.js"
SEEDED = 40


def require_browser() -> None:
    missing = [
        what
        for what, ok in (
            (f"Chromium at {CHROMIUM} (apt-get install -y chromium)", Path(CHROMIUM).exists()),
            ("the console assets (make assets)", VENDOR.exists()),
        )
        if not ok
    ]
    if missing:
        message = "missing " + " and ".join(missing)
        if in_ci():
            pytest.fail(f"{message}; CI=true makes the browser tests mandatory")
        pytest.skip(message)


def submit_api(server: LiveServer, key: str, **body: Any) -> dict[str, Any]:
    payment = {
        "account_id": "acct-api",
        "amount_minor": 2_500,
        "currency": "EUR",
        "card_number": CARD,
        "merchant_id": "m-grocer-1",
        "merchant_category": "5411",
        "merchant_country": "DE",
        "channel": "pos",
        **body,
    }
    response = httpx.post(
        f"{server.url}/v1/transactions",
        json=payment,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": os.urandom(8).hex()},
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("console")) as running:
        analyst = running.keys[Role.ANALYST]
        for i in range(SEEDED):
            country = "KP" if i % 8 == 0 else "DE"
            card = with_check_digit(f"4{i % 5:014d}")  # one card per account
            submit_api(running, analyst, account_id=f"acct-{i % 5:04d}", card_number=card,
                       amount_minor=900 + 137 * i, merchant_country=country,
                       merchant_id=f"m-shop-{i % 7}", device_id=f"dev-{i % 5}")  # fmt: skip
        yield running


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, key: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_sign_in_is_refused_with_a_bad_key(page: Page) -> None:
    page.goto("/transactions")
    shot(page, "01-sign-in")
    page.get_by_label("API key").fill("rk_000000000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("the API key is not valid")
    expect(page).to_have_url(re.compile(r"/login$"))
    shot(page, "02-sign-in-refused")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_dashboard_numbers_charts_and_live_feed(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    total = int(page.locator('[data-kpi="total"]').inner_text().replace(",", ""))
    assert total >= SEEDED
    expect(page.locator("#charts canvas")).to_have_count(2)  # uPlot drew both charts
    expect(page.locator("#live-status")).to_have_text("live")
    document = submit_api(server, server.keys[Role.ANALYST], account_id="acct-live-feed")
    row = page.locator("#feed tr", has_text="acct-live-feed")
    expect(row).to_have_count(1)  # arrived through the SSE stream, no reload
    expect(row).to_contain_text(document["decision"]["status"])
    page.get_by_role("button", name="Last hour").click()
    expect(page.get_by_role("button", name="Last hour")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#charts canvas")).to_have_count(2)
    expect(page.locator('[data-kpi="total"]')).to_have_text(str(total + 1), timeout=15_000)
    shot(page, "03-dashboard")


def test_submit_a_payment_and_see_its_decision(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.ANALYST])
    page.get_by_role("link", name="New payment").click()
    page.get_by_label("Account ID").fill("acct-browser")
    page.get_by_label("Amount (minor units)").fill("48200")
    card = page.get_by_label("Card number")
    card.press_sequentially(CARD)
    expect(card).to_have_value("•••• •••• •••• 1111")  # masked as typed
    page.get_by_label("Merchant ID").fill("m-electronics-3")
    page.get_by_label("Category (MCC)").fill("5732")
    page.get_by_label("Country").fill("KP")
    page.get_by_role("button", name="Decide payment").click()
    result = page.locator("#result")
    expect(result.locator(".badge-decline").first).to_be_visible()
    expect(result).to_contain_text("SANCTIONED")
    expect(result).to_contain_text("482.00 EUR")
    shot(page, "04-payment-decided")
    page.get_by_label("Country").fill("DE")
    page.get_by_role("button", name="Decide payment").click()  # a new key: a new payment
    # Its outcome is the model's once the first champion serves (it trains in the background):
    # what matters here is that the new decision replaced the sanctioned one.
    expect(result).not_to_contain_text("SANCTIONED")
    expect(result.locator(".badge").first).to_be_visible()
    page.get_by_role("link", name=re.compile("Open transaction")).click()
    expect(page.get_by_role("heading", name="Features snapshot")).to_be_visible()
    listed = httpx.get(
        f"{server.url}/v1/transactions",
        params={"account_id": "acct-browser"},
        headers={"Authorization": f"Bearer {server.keys[Role.VIEWER]}"},
    ).json()["items"]
    assert [t["merchant_country"] for t in listed] == ["DE", "KP"]
    assert all(t["card"]["last4"] == "1111" for t in listed)


def test_a_bad_payment_is_explained_inline(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.ANALYST])
    page.goto("/pay")
    page.get_by_label("Account ID").fill("acct-typo")
    page.get_by_label("Amount (minor units)").fill("100")
    page.get_by_label("Card number").press_sequentially("4111111111111112")
    page.get_by_label("Merchant ID").fill("m-1")
    page.get_by_label("Category (MCC)").fill("5411")
    page.get_by_role("button", name="Decide payment").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "card_number: Value error, card number fails the Luhn check"
    )
    shot(page, "05-payment-refused")


def test_filter_transactions_and_open_a_detail(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    page.get_by_role("link", name="Transactions").click()
    stored = httpx.get(
        f"{server.url}/v1/transactions",
        params={"limit": 50},
        headers={"Authorization": f"Bearer {server.keys[Role.VIEWER]}"},
    ).json()["items"]
    expect(page.locator("table.data tbody tr")).to_have_count(len(stored))
    expect(page.locator("table.data tbody tr").first).to_contain_text(stored[0]["account_id"])
    shot(page, "06-transactions")
    page.get_by_label("Status").select_option("decline")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=decline"))
    rows = page.locator("table.data tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("table.data .badge-approve")).to_have_count(0)
    assert rows.count() == page.locator("table.data .badge-decline").count() >= SEEDED // 8
    page.get_by_label("Account").fill("acct-0000")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"account_id=acct-0000"))
    expect(page.locator("table.data tbody tr", has_text="acct-0001")).to_have_count(0)
    shot(page, "07-transactions-filtered")
    page.locator("table.data tbody tr a code").first.click()
    expect(page.get_by_role("heading", name="Features snapshot")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit")).to_be_visible()
    expect(page.get_by_role("heading", name="Account acct-0000")).to_be_visible()
    expect(page.locator(".decision .chip").first).to_contain_text("SANCTIONED")
    shot(page, "08-transaction-detail")


def test_a_viewer_cannot_submit(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    page.goto("/pay")
    expect(page.get_by_role("note")).to_contain_text("only analysts, approvers and admins")
    page.get_by_label("Account ID").fill("acct-viewer")
    page.get_by_label("Amount (minor units)").fill("1000")
    page.get_by_label("Card number").press_sequentially(CARD)
    page.get_by_label("Merchant ID").fill("m-1")
    page.get_by_label("Category (MCC)").fill("5411")
    page.get_by_role("button", name="Decide payment").click()
    expect(page.get_by_role("alert")).to_contain_text("role 'viewer' may not submit payments")
    shot(page, "09-viewer-refused")
    listed = httpx.get(
        f"{server.url}/v1/transactions",
        params={"account_id": "acct-viewer"},
        headers={"Authorization": f"Bearer {server.keys[Role.VIEWER]}"},
    ).json()["items"]
    assert listed == []


def test_keyboard_only_sign_in_and_navigation(page: Page, server: LiveServer) -> None:
    page.goto("/login")
    page.keyboard.type(server.keys[Role.ADMIN])  # the key field has focus on arrival
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto("/transactions")
    shot(page, "10-transactions-laptop")
