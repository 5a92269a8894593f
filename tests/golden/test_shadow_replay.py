"""Shadow rules on the golden day: recorded on every decision they hit, deciding nothing.

The golden day replays with the shipped ruleset plus a shadow rule that hits most payments
(a critical decline, the strongest action there is): every outcome, score and reason code
must equal the golden file, and the hits must be on the decisions, stored and read back.
"""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.rules import default_ruleset_path
from riskops.runtime import Runtime
from tests.conftest import Api, create_keys, make_settings

GOLDEN_DIR = Path(__file__).parent
PAYMENTS = GOLDEN_DIR / "payments.jsonl"
GOLDEN = GOLDEN_DIR / "decisions-ruleset-1.1.0.json"

SHADOW_RULE = """
[[rules]]
id = "shadow_any_amount"
name = "Shadow: any payment over 1.00"
description = "A shadow decline that hits nearly every payment, to prove it decides nothing."
expression = 'amount_minor > 100'
action = "decline"
reason_code = "SHADOW_ANY_AMOUNT"
severity = "critical"
mode = "shadow"
"""


@pytest.fixture
async def shadow_api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    ruleset = tmp_path / "with-shadow.toml"
    ruleset.write_text(default_ruleset_path().read_text() + SHADOW_RULE)
    settings = make_settings(
        tmp_path, database_url, ruleset_path=ruleset, max_event_age=timedelta(days=36500)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield Api(client, runtime, keys)


async def test_a_shadow_rule_changes_no_decision_and_is_recorded(shadow_api: Api) -> None:
    api = shadow_api
    headers = api.as_role(Role.SERVICE)
    outcomes, shadowed = [], []
    for index, line in enumerate(PAYMENTS.read_text().splitlines()):
        body = json.loads(line)
        response = await api.client.post(
            "/v1/transactions", json=body, headers={**headers, "Idempotency-Key": f"s-{index}"}
        )
        assert response.status_code == 201, response.text
        decision = response.json()["decision"]
        outcomes.append(
            {
                "index": index,
                "status": decision["status"],
                "reason_codes": decision["reason_codes"],
                "score": round(decision["score"], 4),
            }
        )
        hit = body["amount_minor"] > 100
        expected = [
            {
                "action": "decline",
                "reason_code": "SHADOW_ANY_AMOUNT",
                "rule_id": "shadow_any_amount",
                "severity": "critical",
            }
        ]
        assert decision["shadow_hits"] == (expected if hit else [])
        assert "shadow_any_amount" not in {h["rule_id"] for h in decision["rule_hits"]}
        if hit:
            shadowed.append(response.json()["id"])

    assert outcomes == json.loads(GOLDEN.read_text())
    assert len(shadowed) > len(outcomes) / 2, "the shadow rule must hit most of the day"
    stored = await api.client.get(f"/v1/transactions/{shadowed[0]}", headers=headers)
    assert stored.json()["decision"]["shadow_hits"][0]["rule_id"] == "shadow_any_amount"
