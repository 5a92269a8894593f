"""Defect 9 in a real browser: under the console's Content-Security-Policy every page still
works (htmx swaps, uPlot charts, the SSE live feed, the card mask) and Chromium reports no
violation of the policy."""

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from riskops.auth.roles import Role
from tests.payments import CARD
from tests.web.server import LiveServer
from tests.web.test_browser import page, server, sign_in, submit_api

pytestmark = pytest.mark.browser
__all__ = ["page", "server"]  # the fixtures, shared with the console's browser tests


@pytest.fixture
def violations(page: Page) -> list[str]:
    found: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", listen)
    return found


def test_the_console_works_under_its_content_security_policy(
    page: Page, server: LiveServer, violations: list[str]
) -> None:
    response = page.goto("/login")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, server.keys[Role.ANALYST])
    expect(page.locator("#charts canvas")).to_have_count(2)  # uPlot drew, styles applied
    expect(page.locator("#live-status")).to_have_text("live")  # SSE connected
    submit_api(server, server.keys[Role.ANALYST], account_id="acct-csp-feed")
    expect(page.locator("#feed tr", has_text="acct-csp-feed")).to_have_count(1)
    page.get_by_role("button", name="Last hour").click()  # an htmx swap
    expect(page.get_by_role("button", name="Last hour")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#charts canvas")).to_have_count(2)

    page.get_by_role("link", name="New payment").click()
    page.get_by_label("Account ID").fill("acct-csp")
    page.get_by_label("Amount (minor units)").fill("1200")
    card = page.get_by_label("Card number")
    card.press_sequentially(CARD)
    expect(card).to_have_value("•••• •••• •••• 1111")  # console.js runs
    page.get_by_label("Merchant ID").fill("m-1")
    page.get_by_label("Category (MCC)").fill("5411")
    page.get_by_role("button", name="Decide payment").click()  # an htmx form post
    expect(page.locator("#result .badge").first).to_be_visible()

    page.goto("/transactions")
    page.get_by_label("Status").select_option("decline")
    expect(page.locator("table.data, .empty").first).to_be_visible()
    page.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert violations == []
    # The listener does hear the policy: an inline script injected now is refused and reported.
    page.evaluate(
        "document.head.appendChild(Object.assign(document.createElement('script'),"
        " {textContent: 'window.injected = true'}))"
    )
    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected === undefined")
    assert len(violations) == 1 and "script-src 'self'" in violations[0]
