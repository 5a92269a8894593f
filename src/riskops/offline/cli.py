"""`riskops export`: the offline store, written incrementally to a folder or S3."""

from __future__ import annotations  # annotations name lazily imported types

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer

from riskops.core.console import LazyConsole

err = LazyConsole(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    to: Annotated[str, typer.Option("--to", help="A folder or s3://bucket/prefix")],
    since: Annotated[
        datetime | None, typer.Option("--from", help="Export rows created from (default: all)")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="…and before this time (default: now)")
    ] = None,
    settle_seconds: Annotated[
        float, typer.Option(help="Leave rows younger than this for the next run")
    ] = 60.0,
) -> None:
    """Write decisions (with their feature vectors), labels and case closings as Parquet, by day.

    Reruns continue where the last one stopped and never write a row twice.
    """
    from rich.progress import Progress

    from riskops.db.engine import create_engine
    from riskops.offline import export as offline
    from riskops.settings import Settings

    start = _utc(since) if since else datetime.combine(date(2000, 1, 1), time.min, UTC)
    end = _utc(until) if until else datetime.now(UTC)
    if start >= end:
        raise typer.BadParameter("--from must be before --until")

    async def run() -> offline.ExportResult:
        engine = create_engine(Settings().resolved_database_url)
        try:
            settle = timedelta(seconds=settle_seconds)
            total = await offline.pending(engine, to, start, end, settle)
            with Progress(console=err.get()) as progress:
                bar = progress.add_task("exporting", total=total)
                return await offline.export(
                    engine, to, start, end,
                    settle=settle,
                    progress=lambda _table, rows: progress.advance(bar, rows),
                )  # fmt: skip
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(run())
    except OSError as error:  # an unreachable bucket, a folder we may not write
        err.print(f"[red]cannot write to {to}: {error}[/red]")
        raise typer.Exit(1) from None
    written = ", ".join(f"{rows} {table}" for table, rows in result.rows.items())
    err.print(f"[green]exported {written}[/green] in {len(result.files)} files to {to}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
