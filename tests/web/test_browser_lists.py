"""Lists in a real browser: an analyst creates a card list, adds a card number and (to an IP
list) a CIDR network, sees the card only as its token, removes an entry; a viewer sees no
forms. Screenshots go to test-artifacts/console/ (70-79) for a human to look at."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in

pytestmark = pytest.mark.browser

CARD = with_check_digit("453201511283036")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("console-lists")) as running:
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


def create(page: Page, name: str, kind: str, purpose: str, description: str) -> None:
    page.goto("/lists")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Holds").select_option(kind)
    page.get_by_label("Purpose").select_option(purpose)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def test_an_analyst_lists_a_card_and_a_network_then_removes_one(analyst: Page) -> None:
    analyst.get_by_role("link", name="Lists", exact=True).click()
    expect(analyst.get_by_role("heading", name="Lists", exact=True)).to_be_visible()
    create(analyst, "stolen_cards", "card", "block", "Cards reported stolen by issuers")

    values = analyst.get_by_label("Values, one per line")
    values.fill(f"{CARD}\n4111 1111 1111 1112")
    analyst.get_by_label("Reason").fill("Reported stolen")
    analyst.get_by_role("button", name="Add entries").click()
    expect(analyst.get_by_role("alert")).to_contain_text("Line 2: not a valid card number")
    expect(analyst.get_by_label("Values, one per line")).to_have_value("")  # never echoed
    shot(analyst, "70-lists-card-refused")

    analyst.get_by_label("Values, one per line").fill(CARD)
    analyst.get_by_label("Reason").fill("Reported stolen")
    analyst.get_by_label("Expires (UTC, optional)").fill("2099-06-30T12:00")
    analyst.get_by_role("button", name="Add entries").click()
    expect(analyst.locator(".alert[role=status]")).to_contain_text("Added 1 entry")
    row = analyst.locator("table.entries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Reported stolen")
    expect(row.locator("code.token")).to_have_text(re.compile(r"^[0-9a-f]{12}…[0-9a-f]{4}$"))
    assert CARD not in analyst.content()
    assert CARD[-4:] + "<" not in analyst.content()
    shot(analyst, "71-lists-card-entry")

    create(analyst, "proxy_networks", "ip", "watch", "Hosting ranges seen with mule accounts")
    analyst.get_by_label("Values, one per line").fill("198.51.100.7/24\n203.0.113.9")
    analyst.get_by_label("Reason").fill("Hosting provider")
    analyst.get_by_role("button", name="Add entries").click()
    expect(analyst.locator(".alert[role=status]")).to_contain_text("Added 2 entries")
    expect(analyst.locator("table.entries")).to_contain_text("198.51.100.0/24")
    expect(analyst.locator("table.entries")).to_contain_text("203.0.113.9/32")
    analyst.get_by_role("button", name="Remove 203.0.113.9/32").click()
    expect(analyst.locator(".alert[role=status]")).to_contain_text("Removed")
    expect(analyst.locator("table.entries tbody tr")).to_have_count(1)
    shot(analyst, "72-lists-ip-removed")

    analyst.goto("/lists")
    table = analyst.locator("table.lists")
    expect(table).to_contain_text("stolen_cards")
    expect(table.locator("tr", has_text="proxy_networks")).to_contain_text("1")
    shot(analyst, "73-lists-index")


def test_a_viewer_reads_lists_but_sees_no_forms(browser: Browser, server: LiveServer) -> None:
    context = context_for(browser, server)
    page = context.new_page()
    sign_in(page, server.keys[Role.ANALYST])
    create(page, "watched_countries", "country", "watch", "High-risk corridors")
    page.get_by_label("Values, one per line").fill("kp")
    page.get_by_label("Reason").fill("Sanctions")
    page.get_by_role("button", name="Add entries").click()
    context.close()

    context = context_for(browser, server)
    page = context.new_page()
    sign_in(page, server.keys[Role.VIEWER])
    page.goto("/lists")
    expect(page.locator("table.lists")).to_contain_text("watched_countries")
    expect(page.get_by_role("button", name="Create list")).to_have_count(0)
    expect(page.get_by_role("note")).to_contain_text("you can read lists")
    page.get_by_role("link", name="watched_countries").click()
    expect(page.locator("table.entries")).to_contain_text("KP")
    expect(page.locator("form.list-form")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)
    shot(page, "74-lists-viewer")
    context.close()
