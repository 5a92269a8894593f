"""Console pages through the ASGI client, on SQLite and (marked) PostgreSQL."""

import json
import re

import pytest

from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.decisions import service as decisions_service
from riskops.web.session import COOKIE
from riskops.web.templating import _ms
from tests.conftest import Api
from tests.payments import new_key, payment, row_counts
from tests.web.console import csrf_of, sign_in


def form(**overrides: str) -> dict[str, str]:
    body = {k: str(v) for k, v in payment().items()}
    body.update(idempotency_key=f"console-{new_key()}", **overrides)
    return body


async def seed(api: Api, count: int = 6) -> list[dict[str, object]]:
    documents = []
    for i in range(count):
        body = payment(account_id=f"acct-{i % 2}", amount_minor=1000 + i)
        if i % 3 == 0:
            body["merchant_country"] = "KP"  # a sanctioned country: declined by a rule
        response = await api.client.post(
            "/v1/transactions",
            json=body,
            headers={**api.as_role(Role.ANALYST), "Idempotency-Key": new_key()},
        )
        assert response.status_code == 201, response.text
        documents.append(response.json())
    await api.runtime.events.drain()  # the figures come from the analytics consumer
    return documents


async def test_pages_send_a_stranger_to_sign_in(api: Api) -> None:
    for path in ("/", "/pay", "/transactions", "/transactions/x", "/console/stats"):
        response = await api.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    htmx = await api.client.get("/console/stats", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/login?next=%2Fconsole%2Fstats"


async def test_sign_in_keeps_only_a_signed_httponly_cookie(api: Api) -> None:
    page = await api.client.get("/login")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    response = await api.client.post(
        "/login",
        data={"api_key": api.keys[Role.ANALYST], "csrf_token": csrf_of(page.text), "next": "/pay"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/pay"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert api.keys[Role.ANALYST] not in cookie
    assert api.keys[Role.ANALYST].split("_")[-1] not in cookie
    dashboard = await api.client.get("/")
    assert dashboard.status_code == 200
    assert "test analyst · analyst" in dashboard.text


async def test_sign_in_refuses_a_bad_key_and_a_missing_token(api: Api) -> None:
    page = await api.client.get("/login")
    token = csrf_of(page.text)
    bad = await api.client.post("/login", data={"api_key": "rk_nope", "csrf_token": token})
    assert bad.status_code == 401
    assert "the API key is malformed" in bad.text
    forged = "rk_" + "a" * 12 + "_" + "b" * 40
    wrong = await api.client.post("/login", data={"api_key": forged, "csrf_token": token})
    assert wrong.status_code == 401
    assert "the API key is not valid" in wrong.text
    no_token = await api.client.post("/login", data={"api_key": api.keys[Role.ADMIN]})
    assert no_token.status_code == 403
    assert "security token" in no_token.text
    assert (await api.client.get("/")).status_code == 303  # still signed out


async def test_open_redirects_are_refused(api: Api) -> None:
    page = await api.client.get("/login")
    response = await api.client.post(
        "/login",
        data={
            "api_key": api.keys[Role.VIEWER],
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


async def test_analyst_submits_a_payment_and_sees_its_decision(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    before = await row_counts(api.runtime.engine)
    response = await api.client.post(
        "/pay", data=form(csrf_token=csrf, merchant_country="KP"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 201, response.text
    assert "badge-decline" in response.text
    assert "SANCTIONED" in response.text.upper()
    assert 'hx-swap-oob="true"' in response.text  # a new idempotency key for the next payment
    after = await row_counts(api.runtime.engine)
    assert after["transactions"] == before["transactions"] + 1
    listed = await api.client.get("/v1/transactions", headers=api.as_role(Role.VIEWER))
    assert listed.json()["items"][0]["merchant_country"] == "KP"


async def test_a_resubmitted_form_replays_the_stored_decision(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    body = form(csrf_token=csrf)
    first = await api.client.post("/pay", data=body)
    second = await api.client.post("/pay", data=body)
    assert first.status_code == second.status_code == 201
    assert "idempotent replay" in second.text
    assert (await row_counts(api.runtime.engine))["transactions"] == 1


async def test_bad_payments_are_explained_inline_and_change_nothing(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    before = await row_counts(api.runtime.engine)
    luhn = await api.client.post("/pay", data=form(csrf_token=csrf, card_number="4111111111111112"))
    assert luhn.status_code == 422
    assert "card_number: Value error, card number fails the Luhn check" in luhn.text
    assert "4111111111111112" not in luhn.text  # the card number is never echoed
    several = await api.client.post(
        "/pay", data=form(csrf_token=csrf, amount_minor="12.50", currency="XXQ")
    )
    assert several.status_code == 422
    assert "(and 1 more)" in several.text
    forged = await api.client.post("/pay", data=form(csrf_token="not-the-token"))
    assert forged.status_code == 403
    assert await row_counts(api.runtime.engine) == before


async def test_a_viewer_cannot_submit(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.VIEWER])
    page = await api.client.get("/pay")
    assert "only analysts, approvers and admins may submit payments" in page.text
    before = await row_counts(api.runtime.engine)
    response = await api.client.post("/pay", data=form(csrf_token=csrf))
    assert response.status_code == 403
    assert "role &#39;viewer&#39; may not submit payments" in response.text
    assert await row_counts(api.runtime.engine) == before


async def test_dashboard_shows_the_numbers_of_the_stats_endpoint(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.VIEWER])
    empty = await api.client.get("/")
    assert "No decisions yet" in empty.text
    assert "riskops demo" in empty.text
    documents = await seed(api, 6)
    statuses = [d["decision"]["status"] for d in documents]  # type: ignore[index]
    page = await api.client.get("/")
    assert "No decisions yet" not in page.text
    assert 'data-kpi="total">6<' in page.text
    rate = statuses.count("approve") / len(statuses) * 100
    assert f'data-kpi="approval_rate">{rate:.1f}%<' in page.text
    assert f"{statuses.count('decline')} declined" in page.text
    assert page.text.count('class="badge badge-decline"') == statuses.count("decline")
    partial = await api.client.get("/console/stats")
    assert partial.text.lstrip().startswith('<section id="stats"')


async def test_dashboard_and_stats_endpoint_share_one_definition(api: Api) -> None:
    await seed(api, 9)
    api_stats = (await api.client.get("/v1/stats", headers=api.as_role(Role.VIEWER))).json()
    async with api.runtime.engine.connect() as connection:
        dashboard = await decisions_service.dashboard_stats(connection)
    assert {k: dashboard[k] for k in api_stats} == api_stats
    assert api_stats["total"] == 9 and api_stats["p95_latency_ms"] is not None
    await sign_in(api.client, api.keys[Role.VIEWER])
    page = (await api.client.get("/console/stats")).text
    assert f'data-kpi="total">{api_stats["total"]}<' in page
    assert f'data-kpi="approval_rate">{api_stats["approval_rate"] * 100:.1f}%<' in page
    assert f'data-kpi="p95_latency">{_ms(api_stats["p95_latency_ms"])}<' in page


async def test_timeline_buckets_every_decision(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.VIEWER])
    await seed(api, 5)
    for window, buckets in (("1h", 60), ("24h", 24)):
        response = await api.client.get(f"/console/timeline?window={window}")
        assert response.status_code == 200
        data = re.search(r'class="timeline-data">(.*?)</script>', response.text, re.S)
        assert data is not None
        timeline = json.loads(data.group(1))
        assert len(timeline) == buckets
        assert sum(b["total"] for b in timeline) == 5
        assert sum(b["declined"] for b in timeline) == 2
    bad = await api.client.get("/console/timeline?window=7d")
    assert bad.status_code == 400
    assert bad.json()["code"] == "bad_request"


async def test_transactions_filter_page_and_open(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.VIEWER])
    documents = await seed(api, 6)
    everything = await api.client.get("/transactions")
    assert everything.text.count("<tr>") - 1 == 6  # one header row
    declined = await api.client.get("/transactions?status=decline")
    assert declined.text.count('class="badge badge-decline"') == 2
    assert "badge-approve" not in declined.text
    one_account = await api.client.get("/transactions", params={"account_id": "acct-1"})
    assert one_account.text.count("<tr>") - 1 == 3
    partial = await api.client.get(
        "/transactions?status=decline", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert partial.text.lstrip().startswith("<section")
    nothing = await api.client.get("/transactions?min_score=0.99&status=approve")
    assert "No transactions match these filters" in nothing.text
    bad = await api.client.get("/transactions?min_score=2")
    assert bad.status_code == 400
    assert "`min_score` must be between 0 and 1" in bad.text
    detail = await api.client.get(f"/transactions/{documents[0]['id']}")
    assert detail.status_code == 200
    for section in ("Features snapshot", "Audit", "Account acct-0", "Reason codes"):
        assert section in detail.text
    missing = await api.client.get("/transactions/nope")
    assert missing.status_code == 404
    assert "transaction nope does not exist" in missing.text


async def test_keyset_pages_never_skip_or_repeat(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskops.web import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    await sign_in(api.client, api.keys[Role.VIEWER])
    documents = await seed(api, 10)
    seen: list[str] = []
    url: str | None = "/transactions"
    while url:
        page = await api.client.get(url)
        seen += re.findall(r'href="/transactions/([0-9A-Z]+)"', page.text)
        found = re.search(r'href="(/transactions\?[^"]*cursor=[^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(str(d["id"]) for d in documents)
    assert len(seen) == len(set(seen))


async def test_revoking_the_key_ends_the_session(api: Api) -> None:
    created = None
    async with api.runtime.engine.begin() as connection:
        created = await key_service.create_key(connection, Role.ANALYST, "short-lived")
    await sign_in(api.client, created.plaintext)
    assert (await api.client.get("/")).status_code == 200
    async with api.runtime.engine.begin() as connection:
        await key_service.revoke_key(connection, created.principal.key_id)
    # No cache to clear and no grace period: the session ends with the key's revocation.
    assert (await api.client.get("/")).status_code == 303


async def test_sign_out_needs_the_token_and_ends_the_session(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ADMIN])
    refused = await api.client.post("/logout", data={})
    assert refused.status_code == 403
    out = await api.client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (await api.client.get("/")).status_code == 303


async def test_a_tampered_cookie_is_a_stranger(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.ADMIN])
    value = api.client.cookies[COOKIE]
    api.client.cookies.set(COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert (await api.client.get("/")).status_code == 303


async def test_static_assets_are_served(api: Api) -> None:
    for path in ("/static/console.css", "/static/console.js"):
        assert (await api.client.get(path)).status_code == 200


async def test_the_page_assets_come_from_this_server(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.VIEWER])
    page = (await api.client.get("/")).text
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert sources
    assert all(s.startswith("/static/") for s in sources)  # nothing from a CDN


async def test_transaction_detail_names_the_key_that_submitted_it(api: Api) -> None:
    (document,) = await seed(api, 1)
    await sign_in(api.client, api.keys[Role.VIEWER])
    page = (await api.client.get(f"/transactions/{document['id']}")).text
    submitted = re.search(r'data-field="submitted-by">(.*?)</dd>', page, re.S)
    assert submitted is not None
    assert submitted.group(1).startswith("test analyst ")  # the key's name, then its id
