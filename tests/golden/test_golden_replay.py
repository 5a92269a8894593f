"""Golden replay: a fixed day of payments (synthetic test cards) keeps its outcomes and reasons.

A change to features, rules or policy that alters any decision fails here and shows which.
After an intended change, regenerate with `RISKOPS_UPDATE_GOLDEN=1 pytest tests/golden` and
review the diff of the JSON file like code.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from riskops.auth.roles import Role
from tests.conftest import Api

# A fixed day in the past: its event times are older than the API accepts by default.
pytestmark = pytest.mark.settings(max_event_age=timedelta(days=365 * 100))

PAYMENTS = Path(__file__).with_name("payments.jsonl")
GOLDEN = Path(__file__).with_name("decisions-ruleset-1.1.0.json")


async def test_a_fixed_day_keeps_its_decisions(api: Api) -> None:
    # Runs on both engines: the outcomes must not depend on the database.
    headers = api.as_role(Role.SERVICE)
    outcomes = []
    for index, line in enumerate(PAYMENTS.read_text().splitlines()):
        response = await api.client.post(
            "/v1/transactions",
            json=json.loads(line),
            headers={**headers, "Idempotency-Key": f"g-{index}"},
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
    if os.environ.get("RISKOPS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(outcomes, indent=1) + "\n")
    expected = json.loads(GOLDEN.read_text())
    changed = [(e, o) for e, o in zip(expected, outcomes, strict=True) if e != o]
    assert not changed, f"{len(changed)} decisions changed, first: {changed[0]}"
    statuses = {o["status"] for o in outcomes}
    assert statuses == {"approve", "review", "decline"}, "the golden day needs every outcome"
