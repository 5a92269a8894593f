"""Lifecycle through the running app: shadow scores are stored off the hot path, the canary
serves its cards, and promotion passes or refuses with its reasons."""

import pytest
from sqlalchemy import select

from riskops.db.base import table_of
from riskops.ml import service
from riskops.ml.models import ShadowScore
from riskops.ml.registry import Alias
from riskops.ml.training import TrainedModel
from tests.ml.test_api import ModelApi, model_api, submit, wait_for

__all__ = ["model_api"]  # the fixture, shared with the API tests


async def test_shadow_scores_are_stored_for_comparison(
    model_api: ModelApi, other_model: TrainedModel
) -> None:
    shadow = model_api.registry.register("fraud", other_model)
    model_api.registry.set_alias("fraud", Alias.SHADOW, shadow.version)
    await wait_for(lambda: model_api.runtime.models.installed(Alias.SHADOW) == "2")
    decided = await submit(model_api)
    assert decided["decision"]["model_version"] == "1"  # type: ignore[index]
    assert await model_api.tasks.flush() == 1
    async with model_api.runtime.engine.connect() as connection:
        (row,) = (await connection.execute(select(table_of(ShadowScore)))).all()
    assert (row.transaction_id, row.alias, row.model_version) == (decided["id"], "shadow", "2")
    assert row.champion_score == pytest.approx(decided["decision"]["score"])  # type: ignore[index]
    assert 0.0 <= row.score <= 1.0 and row.error is None


async def test_promotion_needs_canary_traffic_then_passes(
    model_api: ModelApi, other_model: TrainedModel
) -> None:
    settings = model_api.runtime.settings
    engine, registry = model_api.runtime.engine, model_api.registry
    challenger = registry.register("fraud", other_model)
    registry.set_alias("fraud", Alias.CHALLENGER, challenger.version)

    with pytest.raises(service.GateRefused) as refused:
        await service.promote(engine, settings, registry, challenger.version)
    assert "canary: FAILED" in refused.value.message
    assert registry.alias_version("fraud", Alias.CHAMPION) == "1"  # nothing moved

    # Route every card to the challenger for a while: it serves canary traffic without errors.
    model_api.runtime.models.canary_share = 1.0
    await wait_for(lambda: model_api.runtime.models.installed(Alias.CHALLENGER) == "2")
    for _ in range(3):
        decided = await submit(model_api)
        assert decided["decision"]["model_version"] == "2"  # type: ignore[index]
    result, holdout = await service.promotion_gates(engine, settings, registry, "2")
    checks = {c.name: c for c in result.checks}
    assert checks["canary"].passed and checks["canary"].observed == 0.0
    assert "synthetic" in holdout or "labelled" in holdout
    if result.passed:
        await service.promote(engine, settings, registry, "2")
    else:  # the AUC gate may legitimately prefer the champion: then only force moves it
        assert not checks["auc"].passed or not checks["psi"].passed
        await service.promote(engine, settings, registry, "2", force=True)
    assert registry.alias_version("fraud", Alias.CHAMPION) == "2"
    assert registry.alias_version("fraud", Alias.CHALLENGER) is None
    await wait_for(lambda: model_api.runtime.models.installed(Alias.CHAMPION) == "2")


async def test_promoting_an_unknown_version_is_not_found(model_api: ModelApi) -> None:
    from riskops.core.errors import NotFound

    with pytest.raises(NotFound, match="no version '7'"):
        await service.promote(
            model_api.runtime.engine, model_api.runtime.settings, model_api.registry, "7"
        )
