"""The rules page in a real browser with a shadow rule live: its 24 h hits, hit rate and
precision beside the active rules'. Screenshot 46 in test-artifacts/console/."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from riskops.auth.roles import Role
from tests.rulesets.support import BIG
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in, submit_api

pytestmark = pytest.mark.browser


def call(server: LiveServer, role: Role, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {server.keys[role]}"}
    response = httpx.request(method, f"{server.url}{path}", headers=headers, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_browser()
    with live_server(tmp_path_factory.mktemp("console-shadow")) as running:
        rules = call(running, Role.VIEWER, "GET", "/v1/rulesets/active")["rules"]
        shadow = {**BIG, "mode": "shadow"}
        body = {"rules": [*rules, shadow], "comment": "measure large payments"}
        draft = call(running, Role.ANALYST, "POST", "/v1/rulesets/drafts", json=body)
        call(running, Role.ANALYST, "POST", f"/v1/rulesets/drafts/{draft['id']}/submit")
        call(running, Role.APPROVER, "POST", f"/v1/rulesets/drafts/{draft['id']}/approve")
        time.sleep(2.5)  # every process reloads within two seconds
        yield running


def test_the_rules_page_measures_a_live_shadow_rule(browser: Browser, server: LiveServer) -> None:
    analyst = server.keys[Role.ANALYST]
    big = [submit_api(server, analyst, amount_minor=30_000 + i) for i in range(3)]
    for i in range(5):
        submit_api(server, analyst, amount_minor=1_000 + i)
    for document, label in zip(big[:2], ("fraud", "legitimate"), strict=True):
        call(server, Role.ANALYST, "POST", f"/v1/transactions/{document['id']}/label",
             json={"label": label})  # fmt: skip
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, server.keys[Role.VIEWER])
    page.goto("/rules")
    row = page.locator("table.rules tbody tr", has_text="Large payment")
    expect(row).to_contain_text("shadow")
    cells = row.locator("td.num")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("37.5%")
    expect(cells.nth(2)).to_contain_text("50.0%")
    expect(cells.nth(2)).to_contain_text("of 2")
    shot(page, "46-rules-shadow-figures")
    context.close()
