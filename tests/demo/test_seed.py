"""`riskops demo` seeds its history with the champion serving, never with the rules alone."""

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.decisions.models import Decision
from riskops.demo import seed_history
from tests.conftest import make_settings

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


async def test_the_first_champion_trains_before_any_payment_is_seeded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="riskops.ml.tasks")
    settings = make_settings(
        tmp_path, None, model_serving=True, model_bootstrap=True,
        model_bootstrap_payments=1_000, run_workers=False,
    )  # fmt: skip
    stored, model = await seed_history(settings, 40, seed=3)
    assert (stored, model) == (40, "fraud v1")
    said = [r.getMessage() for r in caplog.records if r.name == "riskops.ml.tasks"]
    assert any(m.startswith("no champion yet: training a first one") for m in said), said
    assert any(m.startswith("first champion fraud v1 trained in") for m in said), said
    decisions = table_of(Decision)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            query = select(decisions.c.score_source, func.count()).group_by(
                decisions.c.score_source
            )
            sources = dict((await connection.execute(query)).all())
    finally:
        await engine.dispose()
    assert sources == {"model": 40}, sources
    # A second run finds the champion: nothing trains again.
    assert (await seed_history(settings, 5, seed=4))[1] == "fraud v1"


async def test_without_model_serving_the_demo_says_rules_alone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None, model_serving=False, run_workers=False)
    assert await seed_history(settings, 5, seed=3) == (5, None)
