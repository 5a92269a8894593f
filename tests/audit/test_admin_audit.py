"""Defect 11: every administrative action is in the audit log, readable by admins only."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from riskops.audit import service as audit
from riskops.audit.models import AdminAuditEntry
from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.db.base import table_of
from tests.conftest import Api

entries = table_of(AdminAuditEntry)


async def audit_rows(api: Api) -> int:
    async with api.runtime.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(entries)) or 0)


async def read(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.client.get(
        "/v1/admin/audit", params=params, headers=api.as_role(Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_key_creation_and_revocation_through_the_api_are_audited(api: Api) -> None:
    admin = await api.runtime.keys.verify(api.keys[Role.ADMIN])
    created = await api.client.post(
        "/v1/admin/keys", json={"role": "analyst", "name": "ana"}, headers=api.as_role(Role.ADMIN)
    )
    assert created.status_code == 201
    key_id = created.json()["id"]
    revoked = await api.client.delete(f"/v1/admin/keys/{key_id}", headers=api.as_role(Role.ADMIN))
    assert revoked.status_code == 204
    page = await read(api, target=f"api_key:{key_id}")
    revocation, creation = page["items"]  # newest first
    assert creation["action"] == "api_key.created"
    assert (creation["actor"], creation["actor_name"]) == (admin.key_id, "test admin")
    assert creation["before"] is None
    assert creation["after"]["role"] == "analyst" and creation["after"]["name"] == "ana"
    assert "key" not in creation["after"] and "key_hash" not in creation["after"]  # no secret
    assert revocation["action"] == "api_key.revoked"
    assert revocation["actor"] == admin.key_id
    assert revocation["before"] == {"role": "analyst", "name": "ana", "revoked_at": None}
    assert revocation["after"]["revoked_at"] is not None
    assert datetime.fromisoformat(revocation["at"]) >= datetime.fromisoformat(creation["at"])


async def test_the_action_and_its_audit_row_commit_together(api: Api) -> None:
    before = await audit_rows(api)

    async def create_then_fail() -> None:
        async with api.runtime.engine.begin() as connection:
            await key_service.create_key(connection, Role.VIEWER, "rolled back", audit.SYSTEM)
            raise RuntimeError("the transaction fails after the key was written")

    with pytest.raises(RuntimeError):
        await create_then_fail()
    assert await audit_rows(api) == before  # neither the key nor its audit row
    missing = await api.client.delete("/v1/admin/keys/nope", headers=api.as_role(Role.ADMIN))
    assert missing.status_code == 404
    assert await audit_rows(api) == before  # nothing happened, nothing is recorded


async def test_only_admins_read_the_audit_log(api: Api) -> None:
    anonymous = await api.client.get("/v1/admin/audit")
    assert anonymous.status_code == 401
    for role in (Role.VIEWER, Role.ANALYST, Role.APPROVER, Role.SERVICE):
        refused = await api.client.get("/v1/admin/audit", headers=api.as_role(role))
        assert refused.status_code == 403, role
        assert set(refused.json()) == {"code", "message", "details"}
    assert (await read(api))["items"]  # the fixture's keys were created: audited as system


async def test_filters_and_keyset_pages(api: Api) -> None:
    cli = audit.Actor("cli:ops", "riskops CLI")
    async with api.runtime.engine.begin() as connection:
        for i in range(7):
            await audit.record(
                connection,
                cli if i % 2 else audit.SYSTEM,
                audit.AdminAction.MODEL_ALIAS_SET,
                f"model:m{i % 3}",
                {"alias": "challenger", "version": None},
                {"alias": "challenger", "version": str(i)},
            )
    everything = await read(api, action="model.alias_set", limit=500)
    assert len(everything["items"]) == 7 and everything["next_cursor"] is None
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await read(
            api, action="model.alias_set", limit=3, **({"cursor": cursor} if cursor else {})
        )
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [item["id"] for item in everything["items"]]  # no skip, no repeat
    by_actor = await read(api, actor="cli:ops")
    assert len(by_actor["items"]) == 3 and all(i["actor"] == "cli:ops" for i in by_actor["items"])
    by_target = await read(api, target="model:m0", action="model.alias_set")
    assert len(by_target["items"]) == 3
    now = datetime.now(UTC)
    recent = await read(api, **{"from": (now - timedelta(minutes=5)).isoformat()})
    assert len(recent["items"]) >= 7
    future = await read(api, **{"from": (now + timedelta(minutes=5)).isoformat()})
    assert future["items"] == []
    past = await read(api, to=(now - timedelta(days=1)).isoformat())
    assert past["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"action": "model.deleted"}, 422, "validation_error"),
        ({"cursor": "not-a-cursor"}, 400, "bad_request"),
        ({"from": "2026-12-01T10:00:00"}, 400, "bad_request"),
        ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, 400, "bad_request"),
        ({"limit": "0"}, 422, "validation_error"),
        ({"actor": "ab\x00cd"}, 400, "bad_request"),
        ({"target": "api_key:\x00"}, 400, "bad_request"),
    ],
)
async def test_bad_filters_get_the_one_error_shape(
    api: Api, params: dict[str, str], status: int, code: str
) -> None:
    response = await api.client.get(
        "/v1/admin/audit", params=params, headers=api.as_role(Role.ADMIN)
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
