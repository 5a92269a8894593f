"""`riskops labels import FILE.csv`: chargeback files into labels, all or nothing."""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskops.core.console import LazyConsole

if TYPE_CHECKING:
    from riskops.labels.importer import ImportReport

err = LazyConsole(stderr=True)
labels_app = typer.Typer(rich_markup_mode=None, help="Fraud labels.", no_args_is_help=True)


@labels_app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
) -> None:
    """Import a chargeback CSV (transaction_id,label[,source,labelled_at,reason]); rerunning
    it stores nothing twice; a file with a bad row writes nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from riskops.audit.service import cli_actor
    from riskops.db import transaction
    from riskops.db.migrate import upgrade
    from riskops.labels.importer import import_labels
    from riskops.runtime import build_runtime
    from riskops.settings import Settings

    with path.open(encoding="utf-8-sig") as handle:
        total = max(sum(1 for _ in handle) - 1, 0)  # rows for the progress bar

    async def run() -> "ImportReport":
        runtime = await build_runtime(Settings())
        try:
            await upgrade(runtime.engine)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=err.get()) as progress:
                task = progress.add_task(f"labels <- {path.name}", total=total)
                async with transaction(runtime.engine) as connection:
                    return await import_labels(
                        connection,
                        runtime.labels,
                        path,
                        cli_actor(),
                        lambda n: progress.advance(task, n),
                    )
        finally:
            await runtime.close()

    report = asyncio.run(run())
    if report.bad:
        for bad in report.bad:
            err.print(f"[red]line {bad.line}[/red]: {bad.message}")
        err.print(f"[red]{len(report.bad)} bad row(s): nothing was imported[/red]")
        raise typer.Exit(1)
    err.print(
        f"[green]{report.stored} label(s) stored[/green], {report.already} already stored "
        f"({report.rows} rows)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(labels_app, name="labels")
