"""Console pages of the queue through the ASGI client: queue, case page, actions, entities."""

import pytest

from riskops.auth.roles import Role
from tests.cases.support import pay, review_case
from tests.conftest import Api
from tests.web.console import sign_in

pytestmark = pytest.mark.settings(review_threshold=0.0)


async def test_queue_case_page_and_actions(api: Api) -> None:
    paid, case = await review_case(api)
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    listed = await api.client.get("/cases")
    assert listed.status_code == 200 and f'data-case="{case["id"]}"' in listed.text
    assert "Claim</button>" in listed.text
    page = await api.client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    for expected in ("Disposition", "Notes", 'data-slot="similar-cases"', paid["merchant_id"]):
        assert expected in page.text, expected
    assert "4111111111111111" not in page.text  # never a full card number

    claimed = await api.client.post(f"/cases/{case['id']}/assign", data={"csrf_token": csrf})
    assert claimed.status_code == 303
    again = await api.client.post(f"/cases/{case['id']}/assign", data={"csrf_token": csrf})
    assert again.status_code == 409 and "case_already_assigned" in again.text
    forged = await api.client.post(f"/cases/{case['id']}/notes", data={"text": "x"})
    assert forged.status_code == 403
    noted = await api.client.post(
        f"/cases/{case['id']}/notes", data={"csrf_token": csrf, "text": "checked 3DS logs"}
    )
    assert noted.status_code == 303
    unreasoned = await api.client.post(
        f"/cases/{case['id']}/disposition",
        data={"csrf_token": csrf, "disposition": "fraud_confirmed", "reason": ""},
    )
    assert unreasoned.status_code == 400 and "reason" in unreasoned.text
    disposed = await api.client.post(
        f"/cases/{case['id']}/disposition",
        data={"csrf_token": csrf, "disposition": "fraud_confirmed", "reason": "denied"},
    )
    assert disposed.status_code == 303
    page = await api.client.get(f"/cases/{case['id']}")
    assert "checked 3DS logs" in page.text and "fraud_confirmed" in page.text
    assert "Reopen" in page.text and 'name="disposition"' not in page.text
    labels = (
        await api.client.get(f"/v1/transactions/{paid['id']}", headers=api.as_role(Role.VIEWER))
    ).json()["labels"]
    assert [x["label"] for x in labels] == ["fraud"]
    transaction_page = await api.client.get(f"/transactions/{paid['id']}")
    assert f'href="/cases/{case["id"]}"' in transaction_page.text
    assert "fraud · analyst" in transaction_page.text

    entity = await api.client.get(f"/entities/card/{paid['card']['token']}")
    assert entity.status_code == 200 and "Recent payments" in entity.text
    assert (await api.client.get("/entities/card/nope")).status_code == 404
    figures = await api.client.get("/cases-figures")
    assert figures.status_code == 200 and 'data-figure="closed">1<' in figures.text


async def test_a_viewer_reads_but_cannot_work_cases(api: Api) -> None:
    _, case = await review_case(api)
    await pay(api)
    csrf = await sign_in(api.client, api.keys[Role.VIEWER])
    listed = await api.client.get("/cases")
    assert listed.status_code == 200 and "Claim</button>" not in listed.text
    page = await api.client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and 'name="disposition"' not in page.text
    refused = await api.client.post(f"/cases/{case['id']}/assign", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert (await api.client.get("/cases-figures")).status_code == 403
    bad = await api.client.get("/cases", params={"channel": "pigeon"})
    assert bad.status_code == 400 and "channel" in bad.text
