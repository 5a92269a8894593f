"""The rules page measures shadow rules live: hits, hit rate and precision over 24 h."""

import re

from riskops.auth.roles import Role
from tests.conftest import Api
from tests.payments import new_key, payment
from tests.rulesets.support import BIG, active_rules
from tests.rulesets.test_hot_reload import until_version
from tests.web.console import sign_in

SHADOW = {**BIG, "mode": "shadow"}


async def test_a_shadow_rule_that_hits_shows_its_count_rate_and_precision(api: Api) -> None:
    await approve_shadow(api, await active_rules(api))
    await until_version(api.runtime, "2")

    service = api.as_role(Role.SERVICE)
    ids = []
    for amount in (30_000, 1_000):
        response = await api.client.post(
            "/v1/transactions",
            json=payment(amount_minor=amount),
            headers={**service, "Idempotency-Key": new_key()},
        )
        assert response.status_code == 201, response.text
        decision = response.json()["decision"]
        assert "LARGE_AMOUNT" not in str(decision.get("reason_codes"))  # shadow: no effect
        ids.append(response.json()["id"])
    labelled = await api.client.post(
        f"/v1/transactions/{ids[0]}/label",
        json={"label": "fraud"},
        headers=api.as_role(Role.ANALYST),
    )
    assert labelled.status_code == 201, labelled.text

    await sign_in(api.client, api.keys[Role.VIEWER])
    page = await api.client.get("/rules")
    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td><strong>Large payment</strong>.*?</tr>", page.text, re.S)
    assert row, page.text
    cells = re.findall(r'<td class="r num">(.*?)</td>', row.group(0), re.S)
    assert "shadow" in row.group(0)
    assert cells[0] == "1"  # one hit of two decisions
    assert cells[1].startswith("50")
    assert cells[2].startswith("100") and "of 1" in cells[2]


async def approve_shadow(api: Api, rules: list[dict[str, object]]) -> None:
    created = await api.client.post(
        "/v1/rulesets/drafts",
        json={"rules": [*rules, SHADOW]},
        headers=api.as_role(Role.ANALYST),
    )
    assert created.status_code == 201, created.text
    draft_id = created.json()["id"]
    for step, role in (("submit", Role.ANALYST), ("approve", Role.APPROVER)):
        done = await api.client.post(
            f"/v1/rulesets/drafts/{draft_id}/{step}", headers=api.as_role(role)
        )
        assert done.status_code == 200, done.text
