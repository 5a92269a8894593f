"""Model work in the background: hot reload and shadow scores where decisions are made; first
champion, drift reports and scheduled retraining (the jobs) where `jobs` is on, which is the
worker process when `riskops serve` runs two (riskops.processes.placement).

The registry is opened in a thread (importing MLflow takes seconds), so /health answers at
once; until a champion is loaded the pipeline scores with the rules alone.
"""

import asyncio
import gc
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.core.background import Background, in_daemon_thread
from riskops.core.errors import RiskOpsError
from riskops.core.ids import new_id
from riskops.db import transaction
from riskops.ml import repository, service
from riskops.ml.registry import Alias, ModelRegistry
from riskops.ml.serving import ModelServer
from riskops.settings import Settings

log = logging.getLogger(__name__)
SHADOW_FLUSH_SECONDS = 1.0
STARTUP_GRACE_SECONDS = 1.0
STOP_DEADLINE_SECONDS = 5.0


class ModelTasks:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        server: ModelServer,
        registry: ModelRegistry,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.server = server
        self._registry = registry
        self.registry: ModelRegistry | None = None  # set once opened (off the event loop)
        self.ready = asyncio.Event()  # set once the first reload ran (champion or not)
        self.bootstrap_seconds: float | None = None
        self._background = Background("models")
        self._jobs = True

    def start(self, *, jobs: bool = True) -> None:
        """Serve the aliased models and keep them current; with `jobs` also train a first
        champion, report drift and retrain. Without, a champion trained elsewhere is picked up
        from the registry at the next reload."""
        self._jobs = jobs
        self._background = Background("models")
        self._background.spawn(self._serve(), "serve")
        self._background.spawn(self._flush_shadows(), "shadows")

    async def stop(self, deadline: float = STOP_DEADLINE_SECONDS) -> list[str]:
        """Stop within `deadline` (training in progress is abandoned, its thread is a daemon),
        then store the shadow scores still queued. Returns the tasks that would not stop."""
        stuck = await self._background.stop(deadline)
        await self.flush()
        return stuck

    async def _serve(self) -> None:
        started = time.perf_counter()
        # Importing MLflow holds the GIL for seconds: let the server finish starting first.
        if await self._background.sleep(STARTUP_GRACE_SECONDS):
            return
        # The API and worker processes open one registry at the same moment on a first start:
        # a lost race to create its tables is retried, not the end of serving.
        while True:
            try:
                await self.prepare(bootstrap=self._jobs and self.settings.model_bootstrap)
                break
            except Exception:
                log.exception("preparing the models failed; retrying")
                if await self._background.sleep(self.settings.model_reload.total_seconds()):
                    return
        self.bootstrap_seconds = time.perf_counter() - started
        self.ready.set()
        next_drift = time.monotonic() + self.settings.drift_interval.total_seconds()
        next_retrain = time.monotonic() + self.settings.retrain_interval.total_seconds()
        while not await self._background.sleep(self.settings.model_reload.total_seconds()):
            try:
                await self.reload()
                if not self._jobs:
                    continue
                if time.monotonic() >= next_drift:
                    next_drift = time.monotonic() + self.settings.drift_interval.total_seconds()
                    await self.drift()
                if self.settings.retrain_enabled and time.monotonic() >= next_retrain:
                    next_retrain = time.monotonic() + self.settings.retrain_interval.total_seconds()
                    await self.retrain()
            except Exception:  # a registry hiccup must not end serving: log, retry next tick
                log.exception("model background work failed; retrying")

    async def prepare(self, bootstrap: bool | None = None) -> None:
        """Open the registry, train a first champion if there is none (and `bootstrap`, by
        default the setting), load what is aliased."""
        await in_daemon_thread(self._registry.open)  # importing MLflow takes seconds
        self.registry = self._registry
        if self.settings.model_bootstrap if bootstrap is None else bootstrap:
            await self._bootstrap(self.registry)
        await self.reload()
        _freeze_what_lives_on()
        self.server.loaded = True
        if self.server.champion is None:
            log.warning("no champion to serve: decisions use the rules alone")

    async def _bootstrap(self, registry: ModelRegistry) -> None:
        name = self.settings.model_name
        if await asyncio.to_thread(registry.alias_version, name, Alias.CHAMPION) is not None:
            return
        self.server.training_since = started = datetime.now(UTC)
        log.info(
            "no champion yet: training a first one on %d synthetic payments (a minute or two); "
            "decisions use the rules alone until it serves",
            self.settings.model_bootstrap_payments,
        )
        try:
            created = await in_daemon_thread(service.bootstrap_champion, self.settings, registry)
        finally:
            self.server.training_since = None
        if created is not None:
            took = (datetime.now(UTC) - started).total_seconds()
            log.info(
                "first champion %s v%s trained in %.0f s: the model now scores every payment",
                created.name, created.version, took,
            )  # fmt: skip

    async def reload(self) -> bool:
        """Load whatever the aliases point at now; True if anything changed."""
        assert self.registry is not None
        changed = False
        for alias in Alias:
            version = await asyncio.to_thread(
                self.registry.alias_version, self.settings.model_name, alias
            )
            if version == self.server.installed(alias):
                continue
            model = None
            if version is not None:
                model = await asyncio.to_thread(
                    self.registry.load, self.settings.model_name, version
                )
            self.server.install(alias, model)
            changed = True
        if changed:
            _freeze_what_lives_on()  # a model load may import more of MLflow
        return changed

    async def drift(self) -> dict[str, Any] | None:
        champion = self.server.champion
        if champion is None:
            return None
        report = await service.measure_drift(self.engine, self.settings, champion.model)
        async with transaction(self.engine) as connection:
            await service.store_drift(connection, report)
        return report

    async def retrain(self) -> None:
        assert self.registry is not None
        end = datetime.now(UTC)
        start = end - self.settings.retrain_window
        try:
            outcome = await service.train_from_log(
                self.engine, self.settings, self.registry, start, end
            )
        except RiskOpsError as error:
            log.info("scheduled retraining skipped: %s", error.message)
            return
        log.info(
            "retrained %s v%s as %s (AUC %.4f)",
            outcome.version.name,
            outcome.version.version,
            outcome.alias,
            outcome.metrics["auc"],
        )

    async def _flush_shadows(self) -> None:
        while not await self._background.sleep(SHADOW_FLUSH_SECONDS):
            try:
                await self.flush()
            except Exception:
                log.exception("storing shadow scores failed; retrying")

    async def flush(self) -> int:
        """Score queued shadow work and store it with any challenger failures."""
        rows: list[dict[str, Any]] = []
        queue, errors = self.server.shadow_queue, self.server.errors
        while queue:
            work = queue.popleft()
            scored = self.server.score_shadow(work)
            if scored is None:
                queue.clear()
                break
            model, score = scored
            rows.append(
                _shadow_row(work.transaction_id, Alias.SHADOW, model.name, model.version, work.at)
                | {"score": round(score, 6), "champion_score": work.champion_score}
            )
        while errors:
            failure = errors.popleft()
            rows.append(
                _shadow_row(
                    failure.transaction_id,
                    failure.alias,
                    failure.model_name,
                    failure.model_version,
                    failure.at,
                )
                | {"error": failure.error[:2000]}
            )
        if rows:
            async with transaction(self.engine) as connection:
                await repository.insert_shadow_scores(connection, rows)
        return len(rows)


def _freeze_what_lives_on() -> None:
    """Move everything alive now out of the cyclic collector's sight, as Runtime.start does.

    Opening the registry imports MLflow in the API process after start: ~160,000 objects that
    live as long as the process. Left in the oldest generation, every full collection walked
    them on the event loop, 225 ms each on this machine (measured), the loop stalls of the
    decision benchmark; frozen, a full collection walks only what decisions leave behind.
    """
    gc.freeze()


def _shadow_row(
    transaction_id: str, alias: Alias, name: str, version: str, at: float
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "transaction_id": transaction_id,
        "alias": alias.value,
        "model_name": name,
        "model_version": version,
        "score": None,
        "champion_score": None,
        "error": None,
        "created_at": datetime.fromtimestamp(at, UTC),
    }
