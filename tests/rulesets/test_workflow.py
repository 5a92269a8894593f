"""The four-eyes workflow over HTTP: who may do what, and what each step leaves behind."""

import asyncio

from riskops.auth.roles import Role
from tests.conftest import Api
from tests.rulesets.support import BIG, active_rules, draft, submitted


async def test_the_migration_imports_the_shipped_toml_as_active_version_1(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)
    listing = (await api.client.get("/v1/rulesets", headers=viewer)).json()["items"]
    assert [(v["version"], v["status"], v["author"]) for v in listing] == [(1, "active", "system")]
    active = (await api.client.get("/v1/rulesets/active", headers=viewer)).json()
    ids = [rule["id"] for rule in active["rules"]]
    assert {"blocked_card", "card_testing", "trusted_merchant_recurring"} <= set(ids)
    override = next(r for r in active["rules"] if r["id"] == "trusted_merchant_recurring")
    assert (override["action"], override["mode"]) == ("approve", "active")
    assert (await api.client.get("/v1/rulesets/1", headers=viewer)).json() == active
    # The process decides with it: decisions record the database version.
    assert api.runtime.pipeline.rules.ruleset.version == "1"


async def test_happy_path_a_draft_approved_by_someone_else_becomes_active(api: Api) -> None:
    rules = await active_rules(api)
    first_high = next(i for i, rule in enumerate(rules) if rule["severity"] == "high")
    changed = [dict(rule) for rule in rules[:-1]] + [BIG]
    changed[first_high]["severity"] = "critical"
    created = await submitted(api, changed)
    assert created["status"] == "draft" and created["base_version"] == 1
    diff = created["diff"]
    assert [r["id"] for r in diff["added"]] == ["big_amount"]
    assert [r["id"] for r in diff["removed"]] == [rules[-1]["id"]]
    assert diff["changed"] == [
        {
            "id": rules[first_high]["id"],
            "changes": {"severity": {"before": "high", "after": "critical"}},
        }
    ]
    response = await api.client.post(
        f"/v1/rulesets/drafts/{created['id']}/approve", headers=api.as_role(Role.APPROVER)
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["version"]) == ("approved", 2)
    viewer = api.as_role(Role.VIEWER)
    listing = (await api.client.get("/v1/rulesets", headers=viewer)).json()["items"]
    assert [(v["version"], v["status"]) for v in listing] == [(2, "active"), (1, "superseded")]
    assert listing[0]["approver"] != listing[0]["author"]
    assert (await active_rules(api)) == changed
    audit = await api.client.get("/v1/admin/audit", headers=api.as_role(Role.ADMIN))
    actions = [entry["action"] for entry in audit.json()["items"]][:4]
    assert actions == [
        "ruleset.activated",
        "ruleset_draft.approved",
        "ruleset_draft.submitted",
        "ruleset_draft.created",
    ]
    activated = audit.json()["items"][0]
    assert (activated["before"]["version"], activated["after"]["version"]) == (1, 2)


async def test_the_author_may_not_approve_their_own_draft(api: Api) -> None:
    created = await submitted(api, [BIG])
    # The admin key authored nothing here; the approver key authors and then tries to approve.
    own = await draft(api, [BIG], role=Role.APPROVER)
    await api.client.post(
        f"/v1/rulesets/drafts/{own['id']}/submit", headers=api.as_role(Role.APPROVER)
    )
    response = await api.client.post(
        f"/v1/rulesets/drafts/{own['id']}/approve", headers=api.as_role(Role.APPROVER)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "four_eyes_required"
    assert (await api.client.get("/v1/rulesets/active", headers=api.as_role(Role.VIEWER))).json()[
        "version"
    ] == 1
    assert created["status"] == "draft"


async def test_an_analyst_cannot_approve_and_a_viewer_cannot_draft(api: Api) -> None:
    created = await submitted(api, [BIG])
    response = await api.client.post(
        f"/v1/rulesets/drafts/{created['id']}/approve", headers=api.as_role(Role.ANALYST)
    )
    assert response.status_code == 403
    assert response.json()["details"]["needs"] == "approve_rules"
    response = await api.client.post(
        "/v1/rulesets/drafts", json={"rules": [BIG]}, headers=api.as_role(Role.VIEWER)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_an_admin_approves_as_an_approver(api: Api) -> None:
    created = await submitted(api, [BIG])
    response = await api.client.post(
        f"/v1/rulesets/drafts/{created['id']}/approve", headers=api.as_role(Role.ADMIN)
    )
    assert response.status_code == 200, response.text


async def test_rejection_keeps_the_active_version_and_records_the_reason(api: Api) -> None:
    created = await submitted(api, [BIG])
    url = f"/v1/rulesets/drafts/{created['id']}"
    empty = await api.client.post(
        f"{url}/reject", json={"reason": ""}, headers=api.as_role(Role.APPROVER)
    )
    assert empty.status_code == 422
    response = await api.client.post(
        f"{url}/reject", json={"reason": "declines every large payment"},
        headers=api.as_role(Role.APPROVER),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["reason"]) == (
        "rejected",
        "declines every large payment",
    )
    again = await api.client.post(f"{url}/approve", headers=api.as_role(Role.APPROVER))
    assert again.status_code == 409
    assert again.json()["details"]["needs_status"] == "pending_approval"
    rejected = await api.client.get(
        "/v1/rulesets/drafts?status=rejected", headers=api.as_role(Role.VIEWER)
    )
    assert [d["id"] for d in rejected.json()["items"]] == [created["id"]]
    assert (await api.client.get("/v1/rulesets/active", headers=api.as_role(Role.VIEWER))).json()[
        "version"
    ] == 1


async def test_rollback_is_a_draft_of_an_earlier_version(api: Api) -> None:
    original = await active_rules(api)
    created = await submitted(api, [BIG])
    approver = api.as_role(Role.APPROVER)
    await api.client.post(f"/v1/rulesets/drafts/{created['id']}/approve", headers=approver)
    response = await api.client.post(
        "/v1/rulesets/drafts", json={"from_version": 1}, headers=api.as_role(Role.ANALYST)
    )
    assert response.status_code == 201, response.text
    rollback = response.json()
    assert rollback["base_version"] == 2
    assert [r["id"] for r in rollback["diff"]["removed"]] == ["big_amount"]
    analyst = api.as_role(Role.ANALYST)
    await api.client.post(f"/v1/rulesets/drafts/{rollback['id']}/submit", headers=analyst)
    done = await api.client.post(f"/v1/rulesets/drafts/{rollback['id']}/approve", headers=approver)
    assert done.json()["version"] == 3
    assert await active_rules(api) == original


async def test_edits_are_the_authors_and_only_while_a_draft(api: Api) -> None:
    created = await draft(api, [BIG])
    url = f"/v1/rulesets/drafts/{created['id']}"
    edited = {**BIG, "action": "review"}
    other = await api.client.put(url, json={"rules": [edited]}, headers=api.as_role(Role.APPROVER))
    assert (other.status_code, other.json()["code"]) == (403, "not_the_author")
    mine = await api.client.put(url, json={"rules": [edited]}, headers=api.as_role(Role.ANALYST))
    assert mine.status_code == 200, mine.text
    assert mine.json()["rules"][0]["action"] == "review"
    await api.client.post(f"{url}/submit", headers=api.as_role(Role.ANALYST))
    late = await api.client.put(url, json={"rules": [BIG]}, headers=api.as_role(Role.ANALYST))
    assert late.status_code == 409


async def test_an_invalid_ruleset_is_a_422_naming_each_rule_and_problem(api: Api) -> None:
    broken = [
        {**BIG, "expression": "amount_minor >"},
        {**BIG, "id": "typo", "expression": "amount_mnor > 1"},
        {**BIG, "id": "bad_mode", "mode": "sometimes", "action": "block"},
    ]
    response = await api.client.post(
        "/v1/rulesets/drafts", json={"rules": broken}, headers=api.as_role(Role.ANALYST)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "ruleset_invalid"
    errors = {(e["rule_id"], e["field"]) for e in body["details"]["errors"]}
    assert errors == {
        ("big_amount", "expression"),
        ("typo", "expression"),
        ("bad_mode", "mode"),
        ("bad_mode", "action"),
    }
    typo = next(e for e in body["details"]["errors"] if e["rule_id"] == "typo")
    assert "amount_minor" in typo["reason"]  # the "did you mean" hint
    listed = await api.client.get("/v1/rulesets/drafts", headers=api.as_role(Role.VIEWER))
    assert listed.json()["items"] == []
    neither = await api.client.post(
        "/v1/rulesets/drafts", json={"comment": "x"}, headers=api.as_role(Role.ANALYST)
    )
    assert neither.status_code == 422


async def test_the_validate_endpoint_answers_without_saving(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)
    ok = await api.client.post("/v1/rulesets/validate", json={"rules": [BIG]}, headers=viewer)
    assert ok.json() == {"valid": True, "errors": []}
    bad = await api.client.post(
        "/v1/rulesets/validate", json={"rules": [{**BIG, "severity": "huge"}]}, headers=viewer
    )
    assert bad.json()["valid"] is False
    assert bad.json()["errors"][0]["rule_id"] == "big_amount"


async def test_two_approvals_of_one_draft_one_wins(api: Api) -> None:
    created = await submitted(api, [BIG])
    url = f"/v1/rulesets/drafts/{created['id']}/approve"
    responses = await asyncio.gather(
        api.client.post(url, headers=api.as_role(Role.APPROVER)),
        api.client.post(url, headers=api.as_role(Role.ADMIN)),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    listing = await api.client.get("/v1/rulesets", headers=api.as_role(Role.VIEWER))
    assert [v["version"] for v in listing.json()["items"]] == [2, 1]


async def test_unknown_drafts_and_versions_are_404(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)
    assert (await api.client.get("/v1/rulesets/99", headers=viewer)).json()["code"] == (
        "ruleset_version_not_found"
    )
    assert (await api.client.get("/v1/rulesets/drafts/nope", headers=viewer)).status_code == 404
    assert (await api.client.get("/v1/jobs/nope", headers=viewer)).json()["code"] == "job_not_found"
