"""The console's recommendation page keeps the API's roles, and the investigation panel's
"draft this rule" opens the draft editor prefilled with the proposed rule."""

from datetime import timedelta

import pytest
from markupsafe import escape

from riskops.auth.roles import Role
from tests.conftest import Api
from tests.recommendations.history import SETTINGS, card, label, paid, scanned
from tests.web.console import sign_in

pytestmark = pytest.mark.settings(**SETTINGS)
MISSING = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


async def _queue(api: Api) -> str:
    bad = [await paid(api, timedelta(days=3 - i), merchant_id="m-bad", card_number=card(i))
           for i in range(3)]  # fmt: skip
    for payment in bad[:2]:
        await label(api, payment["id"], timedelta(hours=1))
    return (await scanned(api)).created[0]


async def test_viewers_read_the_queue_and_analysts_act_with_a_reason(api: Api) -> None:
    entry = await _queue(api)
    csrf = await sign_in(api.client, api.keys[Role.VIEWER])
    page = await api.client.get("/recommendations")
    assert page.status_code == 200 and "m-bad" in page.text
    assert "merchant confirmed fraud" in page.text and "Acknowledge" not in page.text
    refused = await api.client.post(
        f"/recommendations/{entry}/reject", data={"reason": "no", "csrf_token": csrf}
    )
    assert refused.status_code == 303 and "problem=" in refused.headers["location"]
    assert (
        await api.client.get(f"/v1/recommendations/{entry}", headers=api.as_role(Role.VIEWER))
    ).json()["status"] == "open"

    api.client.cookies.clear()
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    assert "Acknowledge" in (await api.client.get("/recommendations")).text
    empty = await api.client.post(
        f"/recommendations/{entry}/reject", data={"reason": " ", "csrf_token": csrf}
    )
    assert "a+rejection+needs+a+reason" in empty.headers["location"]
    forged = await api.client.post(
        f"/recommendations/{entry}/reject", data={"reason": "x", "csrf_token": "nope"}
    )
    assert "problem=" in forged.headers["location"]
    done = await api.client.post(
        f"/recommendations/{entry}/reject",
        data={
            "reason": "our test terminal",
            "csrf_token": csrf,
            "back": "/recommendations?status=",
        },
    )
    assert done.status_code == 303 and done.headers["location"].startswith(
        "/recommendations?status=&"
    )
    shown = await api.client.get(done.headers["location"])
    assert "rejected: later scans rank" in shown.text and "our test terminal" in shown.text
    bad_filter = await api.client.get("/recommendations?min_priority=abc")
    assert bad_filter.status_code == 400 and "min priority" in bad_filter.text


async def test_draft_this_rule_opens_the_editor_prefilled(api: Api) -> None:
    for i in range(7):  # a card-testing burst: the investigation proposes a rule for it
        last = await paid(api, timedelta(minutes=30 - i), amount_minor=100 + i,
                          merchant_id=f"m-probe-{i}")  # fmt: skip
    response = await api.client.post(
        "/v1/investigations",
        json={"transaction_id": last["id"], "include_rule_draft_preview": True},
        headers=api.as_role(Role.ANALYST),
    )
    assert response.status_code == 201, response.text
    investigation = response.json()
    expression = investigation["rule_draft_preview"]["rule"]["expression"]
    await sign_in(api.client, api.keys[Role.ANALYST])
    panel = await api.client.get(f"/investigations/panel?transaction_id={last['id']}")
    link = f'href="/rules/drafts/new?investigation={investigation["id"]}"'
    assert link in panel.text
    editor = await api.client.get(f"/rules/drafts/new?investigation={investigation['id']}")
    assert editor.status_code == 200
    assert str(escape(expression)) in editor.text  # in the editor's textarea, escaped
    assert f"proposed by investigation {investigation['id']}" in editor.text
    assert (await api.client.get(f"/rules/drafts/new?investigation={MISSING}")).status_code == 404
    plain = await api.client.get("/rules/drafts/new")
    assert plain.status_code == 200 and "proposed by investigation" not in plain.text
