"""`riskops simulate`: synthetic payments at a rate, to the API or to the inbound stream."""

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from riskops.core.console import LazyConsole

err = LazyConsole(stderr=True)


def simulate(
    to: Annotated[str, typer.Option("--to", help="http (the API) or stream (inbound topic)")],
    rate: Annotated[float, typer.Option(help="Payments per second", min=0.1)] = 50.0,
    duration: Annotated[float, typer.Option(help="Seconds to run", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="Same seed and start, same payments")] = 7,
    start: Annotated[
        datetime | None, typer.Option(help="Event time of the first payment (default: now)")
    ] = None,
    url: Annotated[str, typer.Option(help="API address for --to http")] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="RISKOPS_API_KEY", help="Key with the service role")
    ] = None,
    label_delay_scale: Annotated[
        float, typer.Option(help="Multiply each label's delay (0: labels at once)", min=0)
    ] = 1.0,
) -> None:
    """Synthetic payments (seed 002's contract) with fraud scenarios; labels follow later."""
    if to not in ("http", "stream"):
        err.print("[red]--to must be http or stream[/red]")
        raise typer.Exit(2)
    if to == "http" and not api_key:
        err.print("[red]--to http needs --api-key (or RISKOPS_API_KEY)[/red]")
        raise typer.Exit(2)
    if start is not None and start.tzinfo is None:
        err.print("[red]--start needs a timezone offset, e.g. 2026-11-22T09:00:00+00:00[/red]")
        raise typer.Exit(2)
    # The product is imported here, when the command runs, not for --help.
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from riskops.core.errors import RiskOpsError
    from riskops.db.migrate import upgrade
    from riskops.db.types import utcnow
    from riskops.runtime import build_runtime
    from riskops.settings import Settings
    from riskops.simulation.generator import Simulator
    from riskops.simulation.service import Simulation, SimulationReport, Target

    target: Target = "http" if to == "http" else "stream"

    async def run() -> SimulationReport:
        settings = Settings()
        runtime = await build_runtime(settings)
        http = None
        if target == "http":
            http = httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
            )
        try:
            await upgrade(runtime.engine)
            simulator = Simulator(seed, start or utcnow(), rate)
            simulation = Simulation(
                runtime.bus, target, http=http, label_delay_scale=label_delay_scale
            )
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn())  # fmt: skip
            with Progress(*columns, console=err.get()) as progress:
                task = progress.add_task(f"payments -> {to}", total=int(rate * duration))
                return await simulation.run(
                    simulator, rate, duration, lambda n: progress.advance(task, n)
                )
        finally:
            if http is not None:
                await http.aclose()
            await runtime.close()

    try:
        report = asyncio.run(run())
    except RiskOpsError as error:
        err.print(f"[red]{error.code}[/red]: {error.message}")
        raise typer.Exit(1) from None
    err.print(
        f"[green]sent {report.sent}[/green] payments ({report.failed} refused), "
        f"{report.fraud} fraudulent, {report.labels} labels on labels.v1"
    )
    err.print("scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(report.scenarios.items())))
    if report.statuses:
        err.print("decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items())))


def register(app: typer.Typer) -> None:
    app.command()(simulate)
