"""A believable day of payments, pushed through the real pipeline so the product starts alive."""

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from pydantic import SecretStr
from rich.progress import Progress
from rich.status import Status

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.errors import RiskOpsError
from riskops.core.ids import new_id
from riskops.core.payment import Channel
from riskops.db.migrate import upgrade
from riskops.ledger.cards import with_check_digit
from riskops.ledger.schemas import TransactionCreate
from riskops.runtime import Runtime, build_runtime
from riskops.settings import Settings

SEEDER = Principal(key_id="demo-seeder", name="riskops demo", role=Role.SERVICE)
HOME_COUNTRIES = ["DE", "FR", "GB", "US", "NL", "ES", "IT"]
RISKY_COUNTRIES = ["NG", "RU", "BR", "ID"]
CHUNK = 32
EVERYDAY_MCC = ["5411", "5812", "5541", "5912", "5999", "4121", "5311"]
STREAM_CYCLE = 2000  # payments per pass of the live stream before its pattern repeats
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Customer:
    account_id: str
    card: str
    country: str
    device: str
    typical_minor: float


def synthetic_day(count: int, seed: int, end: datetime) -> Iterator[TransactionCreate]:
    """Everyday spending plus card testing, account takeover and amount spikes, in event order."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    customers = [
        _Customer(
            account_id=f"acct-{i:04d}",
            card=with_check_digit(rng.choice("45") + "".join(rng.choices("0123456789", k=14))),
            country=rng.choice(HOME_COUNTRIES),
            device=f"dev-{i:04d}",
            typical_minor=rng.lognormvariate(8.0, 0.6),
        )
        for i in range(max(count // 12, 5))
    ]
    start = end - timedelta(hours=24)
    payments: list[tuple[datetime, dict[str, object]]] = []
    while len(payments) < count:
        who = rng.choice(customers)
        at = start + timedelta(seconds=rng.uniform(0, 86_400))
        usual: dict[str, object] = {
            "account_id": who.account_id,
            "currency": "EUR",
            "card_number": who.card,
            "channel": rng.choice([Channel.POS, Channel.POS, Channel.ECOM]),
            "device_id": who.device,
            "merchant_country": who.country,
        }
        scenario = rng.random()
        if scenario < 0.02:  # card testing: tiny ecom charges at many merchants within minutes
            for step in range(rng.randint(5, 9)):
                payments.append(
                    (
                        at + timedelta(seconds=20 * step),
                        usual
                        | {
                            "amount_minor": rng.randint(50, 300),
                            "merchant_id": f"m-online-{rng.randint(1, 400)}",
                            "merchant_category": "5967",
                            "channel": Channel.ECOM,
                        },
                    )
                )
        elif scenario < 0.035:  # account takeover: new device, new country, large amount
            payments.append(
                (
                    at,
                    usual
                    | {
                        "amount_minor": int(who.typical_minor * rng.uniform(8, 20)),
                        "merchant_id": f"m-electronics-{rng.randint(1, 20)}",
                        "merchant_category": "5732",
                        "merchant_country": rng.choice(RISKY_COUNTRIES),
                        "device_id": f"dev-new-{rng.randint(1, 10**6)}",
                        "channel": Channel.ECOM,
                    },
                )
            )
        else:
            amount = max(100, int(rng.lognormvariate(0, 0.5) * who.typical_minor))
            payments.append(
                (
                    at,
                    usual
                    | {
                        "amount_minor": amount,
                        "merchant_id": f"m-{who.country.lower()}-{rng.randint(1, 150)}",
                        "merchant_category": rng.choice(EVERYDAY_MCC),
                    },
                )
            )
    payments.sort(key=lambda item: item[0])
    for at, fields in payments[:count]:
        yield TransactionCreate.model_validate(
            fields | {"card_number": SecretStr(str(fields["card_number"])), "occurred_at": at}
        )


async def serve_champion(runtime: Runtime) -> str | None:
    """Load the champion into this runtime, training the first one if needed (minutes)."""
    if not runtime.settings.model_serving:
        return None
    from riskops.ml.tasks import ModelTasks  # MLflow and LightGBM: only when models serve

    tasks = ModelTasks(runtime.settings, runtime.engine, runtime.models)
    with Status("opening the model registry (the first champion trains once, ~2 minutes)"):
        await tasks.prepare()
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
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app
