"""POST /v1/admin/reset: a development install's facts emptied, access and configuration kept."""

from typing import Any

import pytest
from sqlalchemy import func, select

from riskops.auth.roles import Role
from riskops.db.metadata import metadata
from riskops.maintenance.service import KEPT_TABLES, tables_to_empty
from tests.cases.support import error_of, pay, review_case
from tests.conftest import Api

pytestmark = pytest.mark.settings(review_threshold=0.0)  # every payment opens a review case


async def counts(api: Api) -> dict[str, int]:
    async with api.runtime.engine.connect() as connection:
        return {
            name: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in metadata.tables.items()
        }


def test_every_table_is_either_kept_or_emptied() -> None:
    emptied = set(tables_to_empty())
    assert set(metadata.tables) >= KEPT_TABLES, KEPT_TABLES - set(metadata.tables)
    assert emptied | KEPT_TABLES == set(metadata.tables)
    assert not emptied & KEPT_TABLES
    # The facts a demo leaves behind are among the emptied ones.
    facts = {"transactions", "decisions", "decision_audits", "ledger_entries", "accounts"}
    assert facts | {"outbox", "labels", "cases", "case_notes", "record_embeddings"} <= emptied


async def test_reset_empties_facts_keeps_keys_and_configuration(api: Api) -> None:
    paid, _ = await review_case(api, account_id="acct-demo")
    label = await api.client.post(
        f"/v1/transactions/{paid['id']}/label",
        json={"label": "fraud", "source": "chargeback"},
        headers=api.as_role(Role.SERVICE),
    )
    assert label.status_code == 201, label.text
    await api.runtime.events.drain()
    before = await counts(api)
    assert before["transactions"] and before["cases"] and before["labels"] and before["outbox"]

    error_of(
        await api.client.post("/v1/admin/reset", headers=api.as_role(Role.APPROVER)),
        403,
        "forbidden",
    )
    response = await api.client.post("/v1/admin/reset", headers=api.as_role(Role.ADMIN))
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert report["deleted"]["transactions"] == before["transactions"]

    after = await counts(api)
    assert {name: after[name] for name in tables_to_empty()} == dict.fromkeys(tables_to_empty(), 0)
    for name in ("api_keys", "ruleset_versions", "lists", "list_entries"):
        assert after[name] == before[name], name
    # The audit keeps what was emptied, by whom.
    entries = await api.client.get("/v1/admin/audit", headers=api.as_role(Role.ADMIN))
    reset_entry = next(e for e in entries.json()["items"] if e["action"] == "data.reset")
    assert reset_entry["id"] == report["audit_id"]
    assert reset_entry["before"]["rows"]["transactions"] == before["transactions"]

    # Keys still work, and the same account can open again in another currency: nothing
    # remembers the emptied account (the database nor the pipeline's cache).
    again = await pay(api, account_id="acct-demo", currency="USD")
    assert again["decision"]["status"] == "review"
    # The online store forgot the velocity: the card's new payment counts only itself.
    detail = await api.client.get(
        f"/v1/transactions/{again['id']}", headers=api.as_role(Role.VIEWER)
    )
    assert detail.json()["features"]["card_count_24h"] == 1
    await api.runtime.events.drain()
    assert (await counts(api))["cases"] == 1


async def test_production_refuses(api: Api) -> None:
    # Production settings need PostgreSQL and real secrets; the check reads the environment
    # from the running settings, so this app is switched to production in place.
    api.runtime.settings = api.runtime.settings.model_copy(update={"environment": "production"})
    await pay(api)
    response = await api.client.post("/v1/admin/reset", headers=api.as_role(Role.ADMIN))
    body = error_of(response, 403, "reset_refused_in_production")
    assert body["details"]["environment"] == "production"
    assert (await counts(api))["transactions"] == 1
