"""Rules in a real browser: an analyst drafts with live validation and backtests, an approver
approves from the inbox, and the rules page shows the new version.

Screenshots go to test-artifacts/console/ (40-49) for a human to look at.
"""

import json
import re
import tomllib
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from riskops.rules import default_ruleset_path
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in, submit_api

pytestmark = pytest.mark.browser

RULE = {
    "id": "big_ecom",
    "name": "Large e-commerce payment",
    "description": "E-commerce payments above 30.00 go to review",
    "expression": 'channel == "ecom" && amount_minor > 3000',
    "action": "review",
    "reason_code": "BIG_ECOM",
    "severity": "medium",
    "mode": "active",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("console-rules")) as running:
        analyst = running.keys[Role.ANALYST]
        for i in range(24):
            card = with_check_digit(f"4{i % 4:014d}")
            submit_api(running, analyst, account_id=f"acct-{i % 4:04d}", card_number=card,
                       amount_minor=800 + 250 * i, channel="ecom" if i % 2 else "pos",
                       merchant_id=f"m-shop-{i % 5}")  # fmt: skip
        yield running


def context_for(browser: Browser, server: LiveServer) -> BrowserContext:
    return browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})


@pytest.fixture
def analyst(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = context_for(browser, server)
    page = context.new_page()
    sign_in(page, server.keys[Role.ANALYST])
    yield page
    context.close()


@pytest.fixture
def approver(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = context_for(browser, server)
    page = context.new_page()
    sign_in(page, server.keys[Role.APPROVER])
    yield page
    context.close()


def test_draft_backtest_submit_approve(analyst: Page, approver: Page, server: LiveServer) -> None:
    analyst.get_by_role("link", name="Rules", exact=True).click()
    expect(analyst.get_by_role("heading", name=re.compile("Rules"))).to_contain_text(
        "version 1 active"
    )
    shipped = tomllib.loads(default_ruleset_path().read_text())["rules"]
    expect(analyst.locator("table.rules tbody tr")).to_have_count(len(shipped))
    shot(analyst, "40-rules-active")

    analyst.get_by_role("link", name="New draft").click()
    editor = analyst.get_by_label("Rules (JSON)")
    expect(analyst.locator("#validation")).to_contain_text("valid")
    rules = json.loads(editor.input_value())
    broken = [*rules, {**RULE, "expression": "amount_mnor > 3000"}]
    editor.fill(json.dumps(broken, indent=2))
    expect(analyst.locator("#validation")).to_contain_text("big_ecom")
    expect(analyst.locator("#validation")).to_contain_text("did you mean 'amount_minor'")
    shot(analyst, "41-rules-editor-invalid")
    editor.fill(json.dumps([*rules, RULE], indent=2))
    expect(analyst.locator("#validation .alert.ok")).to_contain_text(f"{len(shipped) + 1} rules")
    analyst.get_by_label("Why this change").fill("Review large e-commerce payments")
    analyst.get_by_role("button", name="Save draft").click()
    expect(analyst.get_by_role("heading", level=1)).to_contain_text("Review large e-commerce")
    expect(analyst.locator(".diff-added")).to_contain_text("big_ecom")

    analyst.get_by_role("button", name="Run backtest").click()
    matrix = analyst.locator("table.matrix")
    expect(matrix).to_be_visible(timeout=30_000)
    expect(analyst.locator("#backtest-job")).to_contain_text("Decisions replayed")
    shot(analyst, "42-rules-backtest")
    analyst.get_by_role("button", name="Submit for approval").click()
    expect(analyst.locator(".badge-status-pending_approval").first).to_be_visible()
    # Its author sees no approve button: four eyes.
    expect(analyst.get_by_role("button", name="Approve and activate")).to_have_count(0)

    approver.goto("/rules/drafts?status=pending_approval")
    expect(approver.get_by_role("heading", name="Approvals inbox")).to_be_visible()
    expect(approver.locator(".diff-added")).to_contain_text("big_ecom")
    shot(approver, "43-rules-approvals-inbox")
    approver.get_by_role("link", name="Review", exact=True).click()
    expect(approver.locator("table.matrix")).to_be_visible()  # the backtest travels with it
    approver.get_by_role("button", name="Approve and activate").click()
    expect(approver.locator(".badge-status-approved")).to_be_visible()
    approver.goto("/rules")
    expect(approver.get_by_role("heading", name=re.compile("Rules"))).to_contain_text(
        "version 2 active"
    )
    shot(approver, "44-rules-active-v2")
    approver.goto("/rules/versions")
    expect(approver.locator("table.data tbody tr")).to_have_count(2)
    shot(approver, "45-rules-versions")
    # Every process follows within two seconds: new payments carry version 2.
    headers = {"Authorization": f"Bearer {server.keys[Role.VIEWER]}"}
    active = httpx.get(f"{server.url}/v1/rulesets/active", headers=headers).json()
    assert active["version"] == 2
    approver.wait_for_timeout(1500)
    decided = submit_api(server, server.keys[Role.ANALYST], channel="ecom", amount_minor=9_000)
    assert decided["decision"]["ruleset_version"] == "2"
    assert "BIG_ECOM" in decided["decision"]["reason_codes"]


def test_a_viewer_sees_rules_but_cannot_draft(browser: Browser, server: LiveServer) -> None:
    context = context_for(browser, server)
    page = context.new_page()
    sign_in(page, server.keys[Role.VIEWER])
    page.goto("/rules")
    expect(page.get_by_role("link", name="New draft")).to_have_count(0)
    page.goto("/rules/drafts/new")
    expect(page.get_by_role("note")).to_contain_text("only analysts, approvers and admins")
    context.close()
