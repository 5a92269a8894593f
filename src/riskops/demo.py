"""A believable day of payments, pushed through the real pipeline so the product starts alive."""

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from fastapi import FastAPI
from rich.progress import Progress
from rich.status import Status

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.background import finish
from riskops.core.errors import RiskOpsError
from riskops.core.ids import new_id
from riskops.db.migrate import upgrade
from riskops.decisions.requests import TransactionCreate
from riskops.runtime import Runtime, build_runtime
from riskops.settings import Settings
from riskops.simulation.generator import Simulator

SEEDER = Principal(key_id="demo-seeder", name="riskops demo", role=Role.SERVICE)
CHUNK = 32
STREAM_CYCLE = 2000  # payments per pass of the live stream before its pattern repeats
log = logging.getLogger(__name__)


def synthetic_day(count: int, seed: int, end: datetime) -> Iterator[TransactionCreate]:
    """The day ending at `end` from the one synthetic generator (the one `riskops simulate` and
    the first champion use): everyday spending plus card testing, account takeover,
    compromised merchants and amount spikes, in event order."""
    day = timedelta(hours=24)
    simulator = Simulator(seed, end - day, count / day.total_seconds(), users=max(count // 12, 5))
    for payment in islice(simulator, count):
        yield payment.request


async def serve_champion(runtime: Runtime) -> str | None:
    """Load the champion into this runtime, training the first one if needed (minutes)."""
    if not runtime.settings.model_serving:
        return None
    with Status("opening the model registry (the first champion trains once, ~2 minutes)"):
        await runtime.model_tasks.prepare()
    champion = runtime.models.champion
    return f"{champion.name} v{champion.version}" if champion is not None else None


async def seed_history(settings: Settings, count: int, seed: int) -> tuple[int, str | None]:
    """Seed `count` payments over the day ending now, scored by the champion when models
    serve (its first training waits here, before any payment); each run adds its own day."""
    runtime = await build_runtime(settings)
    try:
        await upgrade(runtime.engine)
        model = await serve_champion(runtime)
        run = new_id()
        payments = list(enumerate(synthetic_day(count, seed, datetime.now(UTC))))
        with Progress() as progress:
            task = progress.add_task("seeding payments", total=count)
            # Small concurrent chunks share group commits; event time keeps features exact.
            for chunk in range(0, count, CHUNK):
                await asyncio.gather(
                    *(
                        runtime.pipeline.submit(request, f"demo-{run}-{index}", SEEDER)
                        for index, request in payments[chunk : chunk + CHUNK]
                    )
                )
                progress.advance(task, len(payments[chunk : chunk + CHUNK]))
    finally:
        await runtime.close()
    return count, model


async def stream_payments(runtime: Runtime, rate: float, seed: int) -> None:
    """A gentle live flow: the demo's customers keep paying, about `rate` payments a second.

    Payments carry no event time (they happen now), so the velocity features, the dashboard
    and its live feed see them arrive as a real stream would.
    """
    rng = random.Random(seed)  # noqa: S311 - pacing of synthetic traffic, not secrets
    run = new_id()
    index = 0
    while True:
        for request in synthetic_day(STREAM_CYCLE, seed, datetime.now(UTC)):
            live = request.model_copy(update={"occurred_at": None})
            try:
                await runtime.pipeline.submit(live, f"stream-{run}-{index}", SEEDER)
            except RiskOpsError as error:  # one refused payment must not stop the stream
                log.warning("demo stream: payment refused: %s", error.message)
            index += 1
            await asyncio.sleep(rng.expovariate(rate))


def with_stream(app: FastAPI, rate: float, seed: int) -> FastAPI:
    """Run `stream_payments` for as long as the app runs (it needs the app's own pipeline)."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with inner(running):
            task = asyncio.create_task(stream_payments(running.state.runtime, rate, seed))
            try:
                yield
            finally:
                await finish([task], deadline=0)

    app.router.lifespan_context = lifespan
    return app
