"""Similar past cases in a real browser: on a transaction, in the record dialog, and the
records table's "Find similar". Screenshots go to test-artifacts/console/ (30-39)."""

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from riskops.auth.roles import Role
from riskops.core.ids import new_id
from riskops.decisions.cards import with_check_digit
from tests.web.server import LiveServer, live_server
from tests.web.test_browser import require_browser, shot, sign_in, submit_api

pytestmark = pytest.mark.browser
PAYMENTS = 36


def is_fraud_like(i: int) -> bool:
    return i % 3 == 0


@dataclass(frozen=True)
class Seeded:
    server: LiveServer
    ids: list[str]  # in submission order; every third is fraud-like


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    require_browser()
    data_dir = tmp_path_factory.mktemp("console-similar")
    with live_server(data_dir, model_bootstrap="false", embedding_interval="0.2") as running:
        analyst = running.keys[Role.ANALYST]
        ids = []
        for i in range(PAYMENTS):
            card = with_check_digit(f"5{i % 6:014d}")
            if is_fraud_like(i):  # large card-not-present payments abroad, new devices
                body = {"amount_minor": 180_000 + 9_000 * i, "merchant_country": "KP",
                        "channel": "ecom", "device_id": f"dev-new-{i}"}  # fmt: skip
            else:  # small in-store groceries at home
                body = {"amount_minor": 1_200 + 90 * i, "merchant_country": "DE",
                        "channel": "pos", "device_id": f"dev-{i % 6}"}  # fmt: skip
            ids.append(
                submit_api(
                    running,
                    analyst,
                    account_id=f"acct-{i % 6:04d}",
                    card_number=card,
                    merchant_id=f"m-{i % 4}",
                    **body,
                )["id"]
            )
        label(running, ids)
        wait_until_embedded(running, ids[-1])
        yield Seeded(running, ids)


def label(server: LiveServer, ids: list[str]) -> None:
    """Analyst labels, written as the labels consumer would (no HTTP endpoint writes them)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(server.data_dir / "riskops.db") as db:
        db.executemany(
            "INSERT INTO labels (id, transaction_id, label, source, labelled_at, created_at)"
            " VALUES (?, ?, ?, 'analyst', ?, ?)",
            [(new_id(), t, int(is_fraud_like(i)), now, now) for i, t in enumerate(ids) if i % 2],
        )


def wait_until_embedded(server: LiveServer, record_id: str) -> None:
    headers = {"Authorization": f"Bearer {server.keys[Role.VIEWER]}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{server.url}/v1/records/nearest", params={"record_id": record_id}, headers=headers
        )
        if found.status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError("the records were never embedded")


@pytest.fixture
def page(browser: Browser, seeded: Seeded) -> Iterator[Page]:
    context = browser.new_context(
        base_url=seeded.server.url, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    yield opened
    context.close()


def test_a_suspicious_transaction_shows_its_similar_past_cases(page: Page, seeded: Seeded) -> None:
    server, ids = seeded.server, seeded.ids
    sign_in(page, server.keys[Role.VIEWER])
    page.goto(f"/transactions/{ids[6]}")  # fraud-like
    section = page.locator(".similar")
    expect(section.get_by_role("heading", name="Similar past cases")).to_be_visible()
    rows = section.locator("table tbody tr")
    expect(rows).to_have_count(10)
    # Its neighbours are the other fraud-like payments: the labelled ones say fraud.
    expect(section).to_contain_text("confirmed fraud")
    assert section.locator("tr.row-fraud").count() >= 4
    assert section.locator(".badge-legit").count() == 0
    shot(page, "30-similar-on-a-transaction")
    nearest = rows.first.locator("a").get_attribute("href") or ""
    assert nearest.rsplit("/", 1)[1] in ids
    rows.first.locator("a").click()
    expect(page).to_have_url(f"{server.url}{nearest}")


def test_find_similar_from_the_records_table(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.server.keys[Role.VIEWER])
    page.get_by_role("link", name="Records").click()
    row = page.locator("table.data tbody tr").first
    row.get_by_role("button", name="Find similar").click()
    dialog = page.locator("#record-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Similar to")).to_be_visible()
    expect(dialog.locator(".similar-query .badge")).to_be_visible()  # what it is compared to
    expect(dialog.locator("table tbody tr")).to_have_count(10)
    shot(page, "31-records-find-similar")
    page.get_by_role("button", name="Close").click()
    row.get_by_role("button", name="Details").click()
    expect(dialog.get_by_role("heading", name="Similar past cases")).to_be_visible()
    expect(dialog.locator(".similar table tbody tr")).to_have_count(10)
    shot(page, "32-record-detail-similar")
