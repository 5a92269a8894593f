"""The console's investigation endpoints keep the API's roles: a viewer reads the panel
without run buttons and may not run; an analyst runs and sees the cited narrative."""

import pytest

from riskops.auth.roles import Role
from tests.cases.support import pay
from tests.conftest import Api
from tests.web.console import sign_in

pytestmark = pytest.mark.settings(embeddings_enabled=False)


async def test_a_viewer_reads_the_panel_but_may_not_run_and_an_analyst_runs(api: Api) -> None:
    paid = await pay(api)
    panel = f"/investigations/panel?transaction_id={paid['id']}"
    run = {"subject": "transaction_id", "subject_id": paid["id"], "mode": "quick"}

    csrf = await sign_in(api.client, api.keys[Role.VIEWER])
    page = await api.client.get(panel)
    assert page.status_code == 200 and "No investigation of this payment yet" in page.text
    assert "Run quick" not in page.text
    refused = await api.client.post("/investigations/run", data={**run, "csrf_token": csrf})
    assert refused.status_code == 403

    api.client.cookies.clear()
    csrf = await sign_in(api.client, api.keys[Role.ANALYST])
    assert "Run quick" in (await api.client.get(panel)).text
    ran = await api.client.post("/investigations/run", data={**run, "csrf_token": csrf})
    assert ran.status_code == 200, ran.text
    assert 'href="#ev-E1" class="cite">[E1]</a>' in ran.text and 'id="ev-E1"' in ran.text
    forged = await api.client.post("/investigations/run", data={**run, "csrf_token": "nope"})
    assert forged.status_code in (400, 403)
