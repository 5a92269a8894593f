"""The API process of `riskops serve` serves models but trains none: a champion the worker
process (or an operator) registers reaches it through the registry's aliases."""

import asyncio
from datetime import timedelta
from pathlib import Path

from riskops.app import create_app
from riskops.ml.registry import Alias
from riskops.ml.service import open_registry
from riskops.ml.training import TrainedModel
from riskops.processes.placement import ProcessRole
from riskops.runtime import Runtime
from tests.conftest import make_settings
from tests.ml.test_api import wait_for


async def test_the_api_process_trains_nothing_and_serves_a_champion_made_elsewhere(
    tmp_path: Path, small_model: TrainedModel
) -> None:
    settings = make_settings(
        tmp_path,
        model_serving=True,
        model_bootstrap=True,  # on, yet first-champion training is the worker's job
        model_bootstrap_payments=1_000,
        model_reload=timedelta(seconds=0.1),
        run_workers=False,
    )
    app = create_app(settings, ProcessRole.API)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        tasks = runtime.model_tasks
        await asyncio.wait_for(tasks.ready.wait(), 60)
        assert tasks.registry is not None
        assert runtime.models.champion is None and runtime.models.training_since is None
        assert (
            await asyncio.to_thread(tasks.registry.alias_version, "fraud", Alias.CHAMPION) is None
        )

        elsewhere = open_registry(settings)  # the worker process's own registry client
        version = await asyncio.to_thread(elsewhere.register, "fraud", small_model)
        await asyncio.to_thread(elsewhere.set_alias, "fraud", Alias.CHAMPION, version.version)
        await wait_for(lambda: runtime.models.champion is not None)
        assert runtime.models.champion is not None
        assert runtime.models.champion.version == version.version
