"""List pages through the ASGI client: editors create lists and change entries, a card is
shown only as its token, refusals are explained on the page, viewers only read."""

import re

from riskops.auth.roles import Role
from riskops.decisions.cards import tokenise, with_check_digit
from tests.conftest import Api
from tests.web.console import sign_in

CARD = with_check_digit("411111111111111")


async def test_an_analyst_creates_a_list_adds_and_removes_entries(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    page = await api.client.get("/lists")
    assert page.status_code == 200 and "Create list" in page.text
    created = await api.client.post(
        "/lists",
        data={"csrf_token": csrf, "name": "stolen_cards", "kind": "card", "purpose": "block",
              "description": "Reported stolen"},
    )  # fmt: skip
    assert created.status_code == 303 and created.headers["location"] == "/lists/stolen_cards"

    refused = await api.client.post(
        "/lists/stolen_cards/entries",
        data={"csrf_token": csrf, "values": f"{CARD}\n4111 1111 1111 1112", "reason": "stolen"},
    )
    assert refused.status_code == 422
    assert "Line 2: not a valid card number" in refused.text
    assert CARD not in refused.text  # typed card numbers are never sent back
    assert "No entries yet" in refused.text  # all or nothing

    added = await api.client.post(
        "/lists/stolen_cards/entries",
        data={"csrf_token": csrf, "values": f"{CARD}\n", "reason": "stolen",
              "expires": "2099-01-01T00:00"},
    )  # fmt: skip
    assert added.status_code == 303
    listed = await api.client.get(added.headers["location"])
    token = tokenise(CARD, api.runtime.settings.token_secret()).token
    assert "Added 1 entry" in listed.text
    assert token in listed.text and CARD not in listed.text
    assert "2099-01-01</span> 00:00" in listed.text
    assert "by test analyst" in listed.text  # the key's name, not its id

    removed = await api.client.post(
        "/lists/stolen_cards/entries/remove", data={"csrf_token": csrf, "value": token}
    )
    assert removed.status_code == 303
    after = await api.client.get(removed.headers["location"])
    assert "Removed" in after.text and "No entries yet" in after.text


async def test_refusals_are_in_plain_words(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    bad_name = await api.client.post(
        "/lists", data={"csrf_token": csrf, "name": "Bad Name", "kind": "ip", "purpose": "watch"}
    )
    assert bad_name.status_code == 400 and "a list name is lowercase letters" in bad_name.text
    assert 'value="Bad Name"' in bad_name.text  # the form keeps what was typed
    for _ in range(2):
        twice = await api.client.post(
            "/lists", data={"csrf_token": csrf, "name": "nets", "kind": "ip", "purpose": "watch"}
        )
    assert twice.status_code == 409 and "a list named &#39;nets&#39; exists" in twice.text
    no_reason = await api.client.post(
        "/lists/nets/entries", data={"csrf_token": csrf, "values": "10.1.2.3/8", "reason": ""}
    )
    assert no_reason.status_code == 400 and "the reason is required" in no_reason.text
    assert "10.1.2.3/8" in no_reason.text  # not a card: the lines stay for correcting
    past = await api.client.post(
        "/lists/nets/entries",
        data={"csrf_token": csrf, "values": "10.1.2.3/8", "reason": "x",
              "expires": "2001-01-01T00:00"},
    )  # fmt: skip
    assert past.status_code == 422 and "expires_at is in the past" in past.text
    cidr = await api.client.post(
        "/lists/nets/entries", data={"csrf_token": csrf, "values": "10.1.2.3/8", "reason": "x"}
    )
    page = await api.client.get(cidr.headers["location"])
    assert "<code>10.0.0.0/8</code>" in page.text
    missing = await api.client.get("/lists/nope")
    assert missing.status_code == 404 and "no list named" in missing.text
    forged = await api.client.post("/lists", data={"csrf_token": "x", "name": "z", "kind": "ip",
                                                   "purpose": "watch"})  # fmt: skip
    assert forged.status_code in (400, 403)


async def test_a_viewer_reads_and_cannot_change(api: Api) -> None:
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    await api.client.post(
        "/lists", data={"csrf_token": csrf, "name": "watched", "kind": "ip", "purpose": "watch"}
    )
    api.client.cookies.clear()  # sign out: the viewer signs in afresh
    csrf = await sign_in(api.client, api.keys[Role.VIEWER])
    page = await api.client.get("/lists")
    assert "watched" in page.text and '<form class="form' not in page.text
    one = await api.client.get("/lists/watched")
    assert one.status_code == 200 and "Add entries" not in one.text
    refused = await api.client.post(
        "/lists/watched/entries", data={"csrf_token": csrf, "values": "10.0.0.1", "reason": "x"}
    )
    assert refused.status_code == 403
    assert re.search(r"alert error", refused.text)
