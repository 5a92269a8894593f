"""Defect 11 for models: alias moves, promotions (forced ones as such) and rollbacks are in
the admin audit log, recorded right after the registry change, through the service and CLI."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskops.audit import service as audit
from riskops.audit.service import Actor, AdminAction, AuditFilter
from riskops.auth.roles import Role
from riskops.cli import app
from riskops.core.errors import Conflict
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.ml import service
from riskops.ml.registry import Alias, MlflowRegistry
from riskops.ml.training import TrainedModel
from riskops.settings import Settings
from tests.conftest import make_settings
from tests.ml.test_api import ModelApi, model_api

__all__ = ["model_api"]  # the fixture, shared with the API tests

OPS = Actor("cli:ops", "riskops CLI")


async def entries(url: str, **where: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            items, _ = await audit.list_entries(connection, AuditFilter(**where), 500, None, 500)
        return items
    finally:
        await engine.dispose()


async def test_alias_promotion_and_rollback_are_audited(
    database_url: str,
    tmp_path: Path,
    registry: MlflowRegistry,
    small_model: TrainedModel,
    other_model: TrainedModel,
) -> None:
    settings = make_settings(tmp_path, database_url)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        first = registry.register("fraud", small_model)
        registry.set_alias("fraud", Alias.CHAMPION, first.version)
        second = registry.register("fraud", other_model)

        await service.set_model_alias(
            engine, settings, registry, Alias.CHALLENGER, second.version, actor=OPS
        )
        await service.clear_model_alias(engine, settings, registry, Alias.CHALLENGER, actor=OPS)
        assert await service.clear_model_alias(engine, settings, registry, Alias.SHADOW) is None
        # No canary traffic: the canary gate fails, so only --force moves the champion.
        with pytest.raises(service.GateRefused):
            await service.promote(engine, settings, registry, second.version, actor=OPS)
        result = await service.promote(
            engine, settings, registry, second.version, force=True, actor=OPS
        )
        assert not result.passed
        assert await service.rollback(engine, settings, registry, actor=OPS) == ("2", "1")
        with pytest.raises(Conflict, match="no previous champion"):
            await service.rollback(engine, settings, registry, actor=OPS)
    finally:
        await engine.dispose()

    logged = list(reversed(await entries(database_url, target="model:fraud")))
    assert [e["action"] for e in logged] == [
        AdminAction.MODEL_ALIAS_SET,
        AdminAction.MODEL_ALIAS_CLEARED,  # clearing an alias that was not set changed nothing
        AdminAction.MODEL_PROMOTED_FORCED,  # the refused promotion changed nothing either
        AdminAction.MODEL_ROLLED_BACK,
    ]
    assert all((e["actor"], e["actor_name"]) == ("cli:ops", "riskops CLI") for e in logged)
    alias_set, cleared, forced, rolled_back = logged
    assert alias_set["before"] == {"alias": "challenger", "version": None}
    assert alias_set["after"] == {"alias": "challenger", "version": "2"}
    assert cleared["after"] == {"alias": "challenger", "version": None}
    assert forced["before"]["champion"] == "1"
    assert forced["after"]["champion"] == "2" and forced["after"]["force"] is True
    assert forced["after"]["gates_passed"] is False
    failed = [c["name"] for c in forced["after"]["checks"] if not c["passed"]]
    assert "canary" in failed  # which gates the force overrode
    assert (rolled_back["before"], rolled_back["after"]) == ({"champion": "2"}, {"champion": "1"})


def test_the_cli_records_forced_promotions_and_key_changes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_model: TrainedModel,
    other_model: TrainedModel,
) -> None:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RISKOPS_CARD_TOKEN_SECRET", "cli-test-card-token-secret-0123456789ab")
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    settings = Settings()
    registry = service.open_registry(settings)
    registry.set_alias("fraud", Alias.CHAMPION, registry.register("fraud", small_model).version)
    registry.register("fraud", other_model)
    runner = CliRunner()

    promoted = runner.invoke(app, ["models", "promote", "2", "--force"])
    assert promoted.exit_code == 0, promoted.output
    assert "forced; recorded in the admin audit log" in promoted.output
    alias = runner.invoke(app, ["models", "alias", "1", "--as", "shadow"])
    assert alias.exit_code == 0, alias.output
    rolled = runner.invoke(app, ["models", "rollback"])
    assert rolled.exit_code == 0, rolled.output
    created = runner.invoke(app, ["keys", "create", "--role", "viewer", "--name", "auditor"])
    assert created.exit_code == 0, created.output
    url = settings.resolved_database_url
    (creation,) = asyncio.run(entries(url, action="api_key.created"))
    revoked = runner.invoke(app, ["keys", "revoke", creation["target"].split(":", 1)[1]])
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(app, ["keys", "revoke", creation["target"].split(":", 1)[1]])
    assert again.exit_code == 1 and "no active API key" in again.output

    logged = list(reversed(asyncio.run(entries(url))))
    assert [e["action"] for e in logged] == [
        "model.promoted_forced",
        "model.alias_set",
        "model.rolled_back",
        "api_key.created",
        "api_key.revoked",
    ]
    assert all(e["actor"].startswith("cli:") for e in logged)
    assert logged[0]["after"]["champion"] == "2" and logged[0]["before"]["champion"] == "1"
    assert logged[3]["after"] == {
        "role": "viewer",
        "name": "auditor",
        "prefix": logged[3]["after"]["prefix"],
    }


async def test_model_administration_through_the_api_is_admin_only_and_audited(
    model_api: ModelApi, other_model: TrainedModel
) -> None:
    api, admin = model_api, model_api.as_role(Role.ADMIN)
    model_api.registry.register("fraud", other_model)
    body = {"version": "2"}
    for role in (Role.VIEWER, Role.ANALYST, Role.APPROVER, Role.SERVICE):
        refused = await api.client.put(
            "/v1/models/fraud/aliases/challenger", json=body, headers=api.as_role(role)
        )
        assert refused.status_code == 403, role
    assert (await api.client.post("/v1/models/fraud/rollback")).status_code == 401
    champion = await api.client.put("/v1/models/fraud/aliases/champion", json=body, headers=admin)
    assert champion.status_code == 422  # the champion moves only through promote
    other = await api.client.put("/v1/models/other/aliases/shadow", json=body, headers=admin)
    assert other.status_code == 404
    missing = await api.client.put(
        "/v1/models/fraud/aliases/shadow", json={"version": "9"}, headers=admin
    )
    assert missing.status_code == 404

    alias = await api.client.put("/v1/models/fraud/aliases/challenger", json=body, headers=admin)
    assert alias.status_code == 200, alias.text
    assert alias.json() == {
        "model_name": "fraud",
        "alias": "challenger",
        "version": "2",
        "previous": None,
    }
    gated = await api.client.post("/v1/models/fraud/promote", json=body, headers=admin)
    assert gated.status_code == 409 and gated.json()["code"] == "promotion_refused"
    forced = await api.client.post(
        "/v1/models/fraud/promote", json={**body, "force": True}, headers=admin
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["forced"] is True and forced.json()["champion"] == "2"
    back = await api.client.post("/v1/models/fraud/rollback", headers=admin)
    assert back.json() == {"model_name": "fraud", "previous_champion": "2", "champion": "1"}
    again = await api.client.post("/v1/models/fraud/rollback", headers=admin)
    assert again.status_code == 409 and set(again.json()) == {"code", "message", "details"}
    cleared = await api.client.delete("/v1/models/fraud/aliases/shadow", headers=admin)
    assert cleared.json()["previous"] is None  # nothing to clear: nothing audited

    logged = (
        await api.client.get("/v1/admin/audit", params={"target": "model:fraud"}, headers=admin)
    ).json()["items"]
    admin_key = await api.runtime.keys.verify(api.keys[Role.ADMIN])
    assert [(e["action"], e["actor"]) for e in reversed(logged)] == [
        ("model.alias_set", admin_key.key_id),
        ("model.promoted_forced", admin_key.key_id),
        ("model.rolled_back", admin_key.key_id),
    ]
