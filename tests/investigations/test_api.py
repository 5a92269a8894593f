"""Investigations over HTTP: run, read, list, hand a rule to drafts; roles, 422 and 404."""

from typing import Any

import pytest

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from riskops.investigations.narrative import check
from riskops.investigations.schemas import InvestigationOut
from tests.cases.support import error_of, pay
from tests.conftest import Api
from tests.payments import OTHER_CARD

# Embedding happens only when a test asks (catch_up): "not indexed yet" is then certain.
pytestmark = pytest.mark.settings(embeddings_enabled=False)
MISSING = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


async def investigate(api: Api, role: Role = Role.ANALYST, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/v1/investigations", json=body, headers=api.as_role(role))
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    InvestigationOut.model_validate(found)  # the documented shape, nothing less
    return found


def sample(metrics: str, series: str) -> float:
    """The value of one series in a Prometheus text exposition."""
    line = next(x for x in metrics.splitlines() if x.startswith(series + " "))
    return float(line.rsplit(" ", 1)[1])


def steps(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in found["trace"]}


async def test_a_quick_investigation_gathers_evidence_recommends_and_narrates(api: Api) -> None:
    paid = await pay(api)
    found = await investigate(api, transaction_id=paid["id"])
    assert found["transaction_id"] == paid["id"] and found["mode"] == "quick"
    assert list(steps(found)) == ["context", "patterns", "recommendation", "narrative"]
    for step in found["trace"]:
        assert step["error"] is None and step["duration_ms"] >= 0
        assert step["actor"] and step["started_at"] and step["outputs"] is not None
    ids = [e["id"] for e in found["evidence"]]
    assert ids[:2] == ["E1", "E2"] and found["evidence"][0]["kind"] == "transaction"
    assert found["recommendation"]["action"] in {"approve", "escalate", "decline"}
    assert set(found["recommendation"]["evidence_ids"]) <= set(ids)
    assert check(found["narrative"]["text"], ids)
    assert found["similar_cases"] is None  # quick: no similarity step
    # Stored: the same document comes back, and by payment in the listing.
    again = await api.client.get(
        f"/v1/investigations/{found['id']}", headers=api.as_role(Role.VIEWER)
    )
    assert again.status_code == 200 and again.json()["trace"] == found["trace"]
    listing = await api.client.get(
        "/v1/investigations",
        params={"transaction_id": paid["id"]},
        headers=api.as_role(Role.VIEWER),
    )
    assert [i["id"] for i in listing.json()["items"]] == [found["id"]]
    audit = await api.client.get(
        "/v1/admin/audit",
        params={"target": f"investigation:{found['id']}"},
        headers=api.as_role(Role.ADMIN),
    )
    assert audit.status_code == 200, audit.text
    assert [e["action"] for e in audit.json()["items"]] == ["investigation.run"]


async def test_a_deep_run_records_a_not_yet_indexed_payment_and_completes_the_rest(
    api: Api,
) -> None:
    paid = await pay(api)
    found = await investigate(api, transaction_id=paid["id"], mode="deep")
    trace = steps(found)
    assert list(trace) == ["context", "patterns", "similarity", "recommendation", "narrative"]
    assert trace["similarity"]["error"]["code"] == "unavailable"
    assert trace["similarity"]["outputs"] is None
    assert all(trace[n]["error"] is None for n in ("context", "patterns", "recommendation"))
    assert trace["narrative"]["error"] is None and found["recommendation"] is not None
    # Once indexed, the same question finds neighbours with their labels.
    for _ in range(4):
        await pay(api, amount_minor=2_400)
    await api.runtime.embedding_tasks.catch_up()
    deep = await investigate(api, transaction_id=paid["id"], mode="deep")
    assert steps(deep)["similarity"]["error"] is None
    assert len(deep["similar_cases"]["neighbours"]) == 4
    assert {e["id"] for e in deep["evidence"]} >= {"S1", "S5"}
    metrics = (await api.client.get("/metrics", headers=api.as_role(Role.VIEWER))).text
    assert sample(metrics, 'riskops_investigation_step_failures_total{step="similarity"}') >= 1
    assert sample(metrics, 'riskops_investigation_duration_seconds_count{mode="deep"}') >= 2


async def label(api: Api, transaction_id: str) -> None:
    response = await api.client.post(
        f"/v1/transactions/{transaction_id}/label",
        json={"label": "fraud", "source": "analyst"},
        headers=api.as_role(Role.ANALYST),
    )
    assert response.status_code == 201, response.text


async def fraud_at_merchant(api: Api) -> dict[str, Any]:
    """Three payments at one merchant, two confirmed fraud, then the one investigated."""
    for i in range(3):
        paid = await pay(api, merchant_id="m-shady", card_number=OTHER_CARD, amount_minor=1_900)
        if i < 2:
            await label(api, paid["id"])
    return await pay(api, merchant_id="m-shady")


async def test_a_merchant_carrying_fraud_proposes_a_valid_rule_that_needs_four_eyes(
    api: Api,
) -> None:
    paid = await fraud_at_merchant(api)
    found = await investigate(
        api, Role.APPROVER, transaction_id=paid["id"], include_rule_draft_preview=True
    )
    assert found["patterns"][0]["name"] == "merchant_confirmed_fraud"
    assert found["recommendation"]["action"] == "draft_rule"
    preview = found["rule_draft_preview"]
    assert preview["valid"] and preview["problems"] == []
    assert preview["rule"]["expression"] == 'merchant_id == "m-shady"'
    assert steps(found)["rule_draft"]["error"] is None
    drafted = await api.client.post(
        f"/v1/investigations/{found['id']}/rule-draft", headers=api.as_role(Role.APPROVER)
    )
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["status"] == "draft"
    assert preview["rule"]["id"] in {r["id"] for r in draft["rules"]}
    headers = api.as_role(Role.APPROVER)
    submit = await api.client.post(f"/v1/rulesets/drafts/{draft['id']}/submit", headers=headers)
    assert submit.status_code == 200, submit.text
    own = await api.client.post(f"/v1/rulesets/drafts/{draft['id']}/approve", headers=headers)
    assert own.status_code == 403 and own.json()["code"] == "four_eyes_required"
    other = await api.client.post(
        f"/v1/rulesets/drafts/{draft['id']}/approve", headers=api.as_role(Role.ADMIN)
    )
    assert other.status_code == 200 and other.json()["status"] == "approved"


async def test_no_pattern_means_no_rule_to_draft(api: Api) -> None:
    paid = await pay(api)
    found = await investigate(api, transaction_id=paid["id"])
    response = await api.client.post(
        f"/v1/investigations/{found['id']}/rule-draft", headers=api.as_role(Role.ANALYST)
    )
    error_of(response, 409, "no_rule_to_draft")


async def test_a_blocked_card_is_never_approved(api: Api) -> None:
    paid = await pay(api)
    added = await api.client.post(
        "/v1/lists/blocked_cards/entries",
        json={"values": ["4111111111111111"], "reason": "stolen"},
        headers=api.as_role(Role.ANALYST),
    )
    assert added.status_code == 201, added.text
    found = await investigate(api, transaction_id=paid["id"])
    assert found["recommendation"]["action"] == "decline"
    cited = {e["id"]: e for e in found["evidence"]}
    assert [cited[i]["kind"] for i in found["recommendation"]["evidence_ids"]] == ["block_list"]


async def test_a_case_and_an_entity_are_investigated_through_their_payment(api: Api) -> None:
    paid = await pay(api, device_id="dev-9")
    opened = await api.client.post(
        "/v1/cases",
        json={"transaction_id": paid["id"], "reason": "looks odd"},
        headers=api.as_role(Role.ANALYST),
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    by_case = await investigate(api, case_id=case_id)
    assert (by_case["transaction_id"], by_case["case_id"]) == (paid["id"], case_id)
    assert "case" in {e["kind"] for e in by_case["evidence"]}
    by_entity = await investigate(api, entity={"kind": "device", "id": "dev-9"})
    assert by_entity["subject"] == {"entity": {"kind": "device", "id": "dev-9"}}
    assert by_entity["transaction_id"] == paid["id"]
    listing = await api.client.get(
        "/v1/investigations", params={"case_id": case_id}, headers=api.as_role(Role.VIEWER)
    )
    assert {i["id"] for i in listing.json()["items"]} == {by_case["id"], by_entity["id"]}


async def test_malformed_ids_are_422_naming_the_field_and_unknown_ones_404(api: Api) -> None:
    headers = api.as_role(Role.ANALYST)
    for body, field in (
        ({"transaction_id": "nope"}, "transaction_id"),
        ({"case_id": "x" * 26}, "case_id"),
        ({"entity": {"kind": "planet", "id": "x"}}, "kind"),
    ):
        response = await api.client.post("/v1/investigations", json=body, headers=headers)
        assert field in str(error_of(response, 422, response.json()["code"])["details"])
    both = await api.client.post(
        "/v1/investigations", json={"transaction_id": MISSING, "case_id": MISSING}, headers=headers
    )
    assert "exactly one" in str(error_of(both, 422, both.json()["code"]))
    for body in ({"transaction_id": MISSING}, {"case_id": MISSING}):
        response = await api.client.post("/v1/investigations", json=body, headers=headers)
        error_of(response, 404, "not_found")
    unseen = {"entity": {"kind": "card", "id": "tok-never"}}
    error_of(
        await api.client.post("/v1/investigations", json=unseen, headers=headers), 404, "not_found"
    )
    viewer = api.as_role(Role.VIEWER)
    error_of(
        await api.client.get(f"/v1/investigations/{MISSING}", headers=viewer), 404, "not_found"
    )
    bad = await api.client.get("/v1/investigations/bad-id", headers=viewer)
    assert bad.status_code == 422
    bad_query = await api.client.get("/v1/investigations", params={"case_id": "1"}, headers=viewer)
    assert bad_query.status_code == 422 and "case_id" in bad_query.text


async def test_roles_on_every_endpoint(api: Api) -> None:
    paid = await fraud_at_merchant(api)
    found = await investigate(api, transaction_id=paid["id"])
    run = {"transaction_id": paid["id"]}
    for role in (Role.ANALYST, Role.APPROVER, Role.ADMIN):
        await investigate(api, role, **run)
    for role in (Role.VIEWER, Role.SERVICE):
        response = await api.client.post("/v1/investigations", json=run, headers=api.as_role(role))
        error_of(response, 403, "forbidden")
        drafted = await api.client.post(
            f"/v1/investigations/{found['id']}/rule-draft", headers=api.as_role(role)
        )
        error_of(drafted, 403, "forbidden")
    viewer = api.as_role(Role.VIEWER)
    assert (
        await api.client.get(f"/v1/investigations/{found['id']}", headers=viewer)
    ).status_code == 200
    assert (await api.client.get("/v1/investigations", headers=viewer)).status_code == 200
    for path in (f"/v1/investigations/{found['id']}", "/v1/investigations"):
        error_of(await api.client.get(path), 401, "unauthorized")
    error_of(await api.client.post("/v1/investigations", json=run), 401, "unauthorized")


async def test_cards_sharing_a_device_are_linked_and_the_device_watch_listed(api: Api) -> None:
    for i in range(3):
        last = await pay(api, card_number=with_check_digit(f"4{i:014d}"), device_id="dev-farm")
    found = await investigate(api, transaction_id=last["id"])
    linked = next(p for p in found["patterns"] if p["name"] == "linked_entities")
    assert linked["entity"] == {"kind": "device", "id": "dev-farm"}
    assert linked["facts"] == {"kind": "device", "cards": 3}
    cited = {e["id"]: e for e in found["evidence"]}
    assert [cited[i]["kind"] for i in linked["evidence_ids"]] == ["links"]
    assert found["recommendation"]["action"] == "watch_list_entity"
    assert found["recommendation"]["entity"] == {"kind": "device", "id": "dev-farm"}
    # One card on its own device is not evidence of anything.
    alone = await investigate(api, transaction_id=(await pay(api, device_id="dev-own"))["id"])
    assert "links" not in {e["kind"] for e in alone["evidence"]}
