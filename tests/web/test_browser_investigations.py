"""The investigation panel in a real browser: a card-testing burst, a case on its last
payment, a quick run, citations that lead to their evidence, and "draft this rule" opening the
draft editor prefilled with the proposed rule, saved as a draft that still needs another
approver. Screenshots in test-artifacts/console/."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, sign_in, submit_api
from tests.web.test_browser_cases import card, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("investigations"), model_serving="false") as running:
        yield running


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_run_an_investigation_follow_a_citation_and_draft_its_rule(
    page: Page, server: LiveServer
) -> None:
    service = server.keys[Role.SERVICE]
    tester = card(41)
    for i in range(7):  # small probes at different merchants within minutes
        last = submit_api(server, service, account_id="acct-probe", card_number=tester,
                          amount_minor=100 + i, merchant_id=f"m-probe-{i}",
                          device_id="dev-probe")  # fmt: skip
    opened = httpx.post(
        f"{server.url}/v1/cases",
        json={"transaction_id": last["id"], "reason": "many small payments"},
        headers={"Authorization": f"Bearer {server.keys[Role.ANALYST]}"},
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]

    sign_in(page, server.keys[Role.APPROVER])
    page.goto(f"/cases/{case_id}")
    panel = page.locator("#investigation")
    expect(panel.get_by_text("No investigation of this case yet.")).to_be_visible()
    panel.get_by_role("button", name="Run quick").click()
    recommendation = panel.locator(".recommendation")
    expect(recommendation).to_have_attribute("data-action", "block_card")
    expect(panel.locator(".patterns")).to_contain_text("card testing")
    citations = panel.locator(".narrative a.cite")
    assert citations.count() >= 3
    # Every citation leads to an evidence card on the page.
    for href in {citations.nth(i).get_attribute("href") for i in range(citations.count())}:
        assert href is not None and href.startswith("#ev-")
        expect(panel.locator(href)).to_have_count(1)
    panel.scroll_into_view_if_needed()
    shot(page, "40-investigation-panel", full_page=True)

    citations.first.click()
    expect(page).to_have_url(f"{server.url}/cases/{case_id}#ev-E1")
    # "Draft this rule" opens the draft editor with the proposed rule added; saving it makes
    # a draft that still needs another approver.
    panel.get_by_role("link", name="Draft this rule").click()
    expect(page).to_have_url(re.compile(r"/rules/drafts/new\?investigation=[0-9A-Z]{26}$"))
    editor = page.locator("textarea[name=rules]")
    expect(editor).to_have_value(re.compile(r"card_count_1h >= 5"))
    expect(page.locator("input[name=comment]")).to_have_value(
        re.compile("proposed by investigation")
    )
    expect(page.locator("#validation")).to_contain_text(re.compile("valid|no problems", re.I))
    shot(page, "41-investigation-rule-editor")
    page.get_by_role("button", name="Save draft").click()
    expect(page).to_have_url(re.compile(r"/rules/drafts/[0-9A-Z]{26}$"))
    expect(page.locator("body")).to_contain_text("card_count_1h >= 5")
    shot(page, "41-investigation-rule-draft")

    # The payment's own page carries the panel too: a deep run adds the similarity step.
    page.goto(f"/transactions/{last['id']}")
    panel = page.locator("#investigation")
    expect(panel.locator(".recommendation")).to_have_attribute("data-action", "block_card")
    expect(panel.get_by_text("Investigating…")).to_be_hidden()  # only while a run is in flight
    panel.get_by_role("button", name="Run deep").click()
    expect(panel).to_contain_text("Deep run by test approver")
    panel.get_by_text("Steps (6)").click()
    expect(panel.locator("details")).to_contain_text("similarity")
    shot(page, "42-investigation-transaction-deep", full_page=True)
