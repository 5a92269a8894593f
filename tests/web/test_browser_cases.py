"""The review queue in a real browser: queue -> claim -> note -> dispose -> the label on the
transaction and in the merchant's fraud-rate feature. Screenshots in test-artifacts/console/."""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import ARTIFACTS, require_browser, sign_in, submit_api

pytestmark = pytest.mark.browser
SHADY = "m-casino-9"
DELAY = timedelta(days=7)  # the default label delay of the merchant fraud-rate windows


def shot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def card(i: int) -> str:
    return with_check_digit(f"5{i:014d}")


def api_get(server: LiveServer, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {server.keys[Role.VIEWER]}"}
    response = httpx.get(f"{server.url}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_case(server: LiveServer, transaction_id: str) -> str:
    for _ in range(100):
        for case in api_get(server, "/v1/cases", limit=100)["items"]:
            if case["transaction_id"] == transaction_id:
                return str(case["id"])
        time.sleep(0.1)
    raise AssertionError(f"no case opened for {transaction_id}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("cases"), model_serving="false") as running:
        analyst = running.keys[Role.SERVICE]
        # Four cards with a small history each, then one large payment: far above the card's
        # usual spend, so the rules send it to review.
        for i, big in enumerate((30_000, 185_000, 64_000, 120_000)):
            for n in range(3):
                submit_api(running, analyst, account_id=f"acct-c{i}", card_number=card(i),
                           amount_minor=1_500 + 100 * n, merchant_id=f"m-shop-{n}",
                           device_id=f"dev-c{i}")  # fmt: skip
            submit_api(running, analyst, account_id=f"acct-c{i}", card_number=card(i),
                       amount_minor=big, merchant_id="m-electronics-3", merchant_category="5732",
                       device_id=f"dev-c{i}", channel="ecom" if i % 2 else "pos")  # fmt: skip
        yield running


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def night_payment(server: LiveServer, at: datetime, **body: Any) -> dict[str, Any]:
    """A gambling payment at night: the high-risk-MCC-at-night rule sends it to review."""
    night = at.replace(hour=2, minute=10, second=0, microsecond=0)
    if night > at:
        night -= timedelta(days=1)
    return submit_api(server, server.keys[Role.SERVICE], merchant_id=SHADY,
                      merchant_category="7995", amount_minor=42_000,
                      occurred_at=night.isoformat(), **body)  # fmt: skip


def test_queue_claim_note_dispose_and_the_label_teaches_the_merchant_rate(
    page: Page, server: LiveServer
) -> None:
    now = datetime.now(UTC)
    # Paid a little over the label delay ago: its label lands in the delayed 1-day window.
    old = night_payment(server, now - DELAY - timedelta(hours=1), account_id="acct-night",
                        card_number=card(7), device_id="dev-night")  # fmt: skip
    assert old["decision"]["status"] == "review", old["decision"]
    case_id = wait_for_case(server, old["id"])

    sign_in(page, server.keys[Role.ANALYST])
    page.get_by_role("link", name="Review queue").click()
    rows = page.locator("table[data-queue] tbody tr")
    expect(rows.first).to_have_class("selected")
    assert rows.count() >= 4
    shot(page, "20-review-queue")
    priorities = [
        float(t.replace(",", "")) for t in rows.locator("td:first-child").all_inner_texts()
    ]
    assert priorities == sorted(priorities, reverse=True)

    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("selected")
    page.keyboard.press("k")
    first_case = rows.first.get_attribute("data-case")
    page.keyboard.press("a")  # claim the selected case
    expect(page.get_by_role("status")).to_contain_text("claimed")
    expect(page.locator(f'tr[data-case="{first_case}"]')).to_have_count(0)  # no longer open
    page.get_by_role("link", name="your cases").click()
    expect(page.locator(f'tr[data-case="{first_case}"]')).to_contain_text("you")

    page.goto(f"/cases/{case_id}")
    expect(page.get_by_role("heading", name="Disposition")).to_be_visible()
    expect(page.locator(".decision")).to_contain_text("HIGH_RISK_MCC_NIGHT")
    expect(page.locator(".history").first).to_be_visible()
    # The opening payment's nearest past records, loaded after the page (once it is indexed).
    expect(page.locator(".similar table.similar-table")).to_be_visible(timeout=15_000)
    shot(page, "21-case-page")
    page.get_by_role("button", name="Claim (a)").click()
    expect(page.locator('[data-field="assignee"]')).to_have_text("you")
    page.get_by_placeholder("What you checked").fill("Cardholder denies the casino top-up.")
    page.get_by_role("button", name="Add note").click()
    notes = page.get_by_role("region", name="Notes")
    expect(notes).to_contain_text("Cardholder denies the casino top-up.")
    page.keyboard.press("f")
    expect(page.get_by_label("Fraud confirmed")).to_be_checked()
    page.keyboard.type("chargeback expected; card reported stolen")
    page.get_by_role("button", name="Close case").click()
    expect(page.locator('[data-field="case-status"]')).to_have_text("closed: fraud_confirmed")
    shot(page, "22-case-disposed")

    page.goto(f"/transactions/{old['id']}")
    expect(page.locator('[data-field="labels"]')).to_contain_text("fraud · analyst")
    shot(page, "23-transaction-labelled", full_page=True)

    later = submit_api(server, server.keys[Role.SERVICE], account_id="acct-later",
                       card_number=card(8), merchant_id=SHADY, merchant_category="7995",
                       amount_minor=1_000)  # fmt: skip
    page.goto(f"/transactions/{later['id']}")
    rate = page.locator(
        ".features div", has=page.locator("code", has_text="merchant_fraud_rate_1d")
    )
    expect(rate.locator("dd")).to_have_text("1.0")

    page.goto(f"/entities/merchant/{SHADY}")
    expect(page.get_by_role("heading", name="Recent payments")).to_be_visible()
    expect(page.locator("table.data")).to_contain_text("fraud")
    shot(page, "24-entity-merchant", full_page=True)

    page.goto("/")
    figures = page.locator("#case-figures")
    expect(figures).to_be_visible()
    expect(figures.locator('[data-figure="closed"]')).to_have_text("1")
    shot(page, "25-dashboard-queue-figures", full_page=True)


def test_entity_links_from_the_case_page(page: Page, server: LiveServer) -> None:
    sign_in(page, server.keys[Role.VIEWER])
    page.goto("/cases")
    page.locator("table[data-queue] tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Disposition")).to_have_count(0)  # a viewer reads
    page.locator(".history h3 a").first.click()
    expect(page.get_by_role("heading", name="Recent payments")).to_be_visible()
    assert os.path.basename(page.url)  # an entity page, reached from the case
