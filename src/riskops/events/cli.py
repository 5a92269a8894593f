"""Commands for the event path: relay, consume, replay, and `events tail|status|schemas`."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from riskops.core.console import LazyConsole

if TYPE_CHECKING:  # the product is imported when a command runs, not for --help
    from riskops.runtime import Runtime

events_app = typer.Typer(
    rich_markup_mode=None, help="The event path: topics, lag, schemas.", no_args_is_help=True
)
out = LazyConsole()
err = LazyConsole(stderr=True)
T = TypeVar("T")
DOCS_EVENTS = Path("docs/events")


@contextlib.asynccontextmanager
async def _runtime() -> AsyncIterator["Runtime"]:
    from riskops.db.migrate import upgrade
    from riskops.runtime import build_runtime
    from riskops.settings import Settings

    settings = Settings()
    runtime = await build_runtime(settings)
    try:
        await upgrade(runtime.engine)
        yield runtime
    finally:
        await runtime.close()


def _run(job: Callable[["Runtime"], Awaitable[T]]) -> T:
    from riskops.core.errors import RiskOpsError

    async def main() -> T:
        async with _runtime() as runtime:
            return await job(runtime)

    try:
        return asyncio.run(main())
    except RiskOpsError as error:
        err.print(f"[red]{error.code}[/red]: {error.message}")
        raise typer.Exit(2) from None


async def _until_stopped(runtime: "Runtime", label: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    err.print(f"[green]{label}[/green] on the {runtime.bus.name} bus; Ctrl-C stops")
    await stop.wait()
    await runtime.events.stop()  # uncommitted work is redelivered on the next start


def relay() -> None:
    """Publish committed outbox rows to the bus until stopped (one of several is fine)."""

    async def job(runtime: "Runtime") -> None:
        runtime.events.runners = []
        runtime.events.start()
        await _until_stopped(runtime, "relaying the outbox")

    _run(job)


def consume(
    name: Annotated[str, typer.Argument(help="A consumer: risk, labels, analytics or cases")],
) -> None:
    """Run one consumer group (scale out with more processes and partitions)."""
    from riskops.contracts import validators
    from riskops.events.workers import EventWorkers
    from riskops.runtime import CONSUMER_TOPICS

    if name not in CONSUMER_TOPICS:
        err.print(f"[red]no consumer named {name!r}[/red]; known: {', '.join(CONSUMER_TOPICS)}")
        raise typer.Exit(2)

    async def job(runtime: "Runtime") -> None:
        runtime.events = EventWorkers.from_settings(
            runtime.settings,
            runtime.engine,
            runtime.bus,
            runtime.consumers,
            validators(),
            consumers=[name],
        )
        runtime.events.start(relay=False)
        await _until_stopped(runtime, f"consumer {name}")

    _run(job)


def replay(
    dlq_topic: Annotated[str, typer.Argument(help="A dead-letter topic, e.g. labels.v1.dlq")],
    limit: Annotated[int | None, typer.Option(help="At most this many")] = None,
) -> None:
    """Re-drive dead letters to the topic they failed on (each one once)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from riskops.events import service

    async def job(runtime: "Runtime") -> int:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err.get()) as progress:  # fmt: skip
            progress.add_task(f"replaying {dlq_topic}", total=None)
            return await service.replay(runtime.bus, dlq_topic, limit)

    moved = _run(job)
    err.print(f"[green]replayed {moved} dead letters[/green] from {dlq_topic}")


@events_app.command("tail")
def tail(
    topic: Annotated[str, typer.Argument(help="Topic to print, e.g. risk.assessments.v1")],
    limit: Annotated[int, typer.Option(help="Stop after this many")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Wait for more")] = False,
) -> None:
    """Print a topic's messages from the beginning, one JSON line each (commits nothing)."""
    import orjson

    from riskops.events import service

    async def job(runtime: "Runtime") -> None:
        async for message in service.tail(runtime.bus, topic, limit, follow):
            line: dict[str, Any] = {
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "key": message.key,
                "headers": message.headers,
            }
            try:
                line["value"] = orjson.loads(message.value)
            except orjson.JSONDecodeError:
                line["value_raw"] = message.value.decode(errors="replace")
            print(orjson.dumps(line).decode(), flush=True)

    _run(job)


@events_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Outbox backlog, consumer lag per topic and dead letters waiting."""
    import orjson
    from rich.table import Table

    found = _run(lambda runtime: runtime.events.status())
    if as_json:
        print(orjson.dumps(found, default=_default).decode())
        return
    table = Table(title=f"events on the {found['bus']} bus")
    for column in ("consumer", "topic", "lag", "dead letters"):
        table.add_column(column)
    for row in found["consumers"]:
        for topic, lag in row["lag"].items():
            dead = found["dead_letters"].get(f"{topic}.dlq", 0)
            table.add_row(row["consumer"], topic, str(lag), str(dead))
    out.print(table)
    if found["bus_error"]:
        out.print(f"[red]bus unreachable[/red]: {found['bus_error']}")
    oldest = found["oldest_unpublished_at"]
    out.print(
        f"outbox backlog: {found['outbox_backlog']}" + (f" (oldest {oldest})" if oldest else "")
    )


@events_app.command("schemas")
def schemas(
    folder: Annotated[Path, typer.Option(help="Where to write them")] = DOCS_EVENTS,
) -> None:
    """Write the JSON Schema of every event type (the committed copies live in docs/events/)."""
    from riskops.contracts import write_schemas

    for path in write_schemas(folder):
        err.print(f"wrote {path}")


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def register(app: typer.Typer) -> None:
    """Add the event commands to the `riskops` command."""
    app.command()(relay)
    app.command()(consume)
    app.command()(replay)
    app.add_typer(events_app, name="events")
