"""`riskops records reembed --from OLD --to NEW`: backfill a new embedding version.

The old version keeps serving meanwhile (the servers search `RISKOPS_EMBEDDING`); switch the
setting once the new one is complete. Resumable: each batch commits on its own and the next
run starts with the records still lacking the new version.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from riskops.core.console import LazyConsole

records_app = typer.Typer(rich_markup_mode=None, help="Records: embeddings for similar cases.")
err = LazyConsole(stderr=True)
BATCH = 1_000


def register(app: typer.Typer) -> None:
    app.add_typer(records_app, name="records", no_args_is_help=True)


@records_app.command("reembed")
def reembed(
    source: Annotated[
        str, typer.Option("--from", help="The version serving now, name/version (kept)")
    ],
    target: Annotated[str, typer.Option("--to", help="The version to backfill, name/version")],
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Records per commit")] = BATCH,
) -> None:
    """Embed every record with a new embedding version, with a progress bar; resumable."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from riskops.core.errors import RiskOpsError
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.db.migrate import upgrade
    from riskops.runtime import build_similarity
    from riskops.settings import Settings
    from riskops.similarity import repository
    from riskops.similarity.embedders import split_embedding
    from riskops.similarity.index import EmbeddingId

    old, new = EmbeddingId(*split_embedding(source)), EmbeddingId(*split_embedding(target))
    if not (old.name and old.version and new.name and new.version) or old == new:
        err.print("[red]--from and --to are two different name/version values[/red]")
        raise typer.Exit(2)

    async def run() -> tuple[int, int, int]:
        settings = Settings()
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            similarity = build_similarity(settings, engine)
            async with engine.connect() as connection:
                total = await repository.count_records(connection)
                done = await repository.count_embedded(connection, new)
                serving = await repository.count_embedded(connection, old)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn())  # fmt: skip
            embedded = 0
            with Progress(*columns, console=err.get()) as progress:
                task = progress.add_task(f"{old} -> {new}", total=total, completed=done)
                after = None
                while True:
                    async with transaction(engine) as connection:
                        result = await similarity.embed_batch(connection, after, batch, new)
                    if result.embedded == 0:
                        break
                    after = result.last
                    embedded += result.embedded
                    progress.advance(task, result.embedded)
            similarity.index.close()
            return embedded, done + embedded, serving
        finally:
            await engine.dispose()

    try:
        embedded, have, serving = asyncio.run(run())
    except RiskOpsError as error:
        err.print(f"[red]{error.code}[/red]: {error.message}")
        raise typer.Exit(1) from None
    err.print(
        f"[green]embedded {embedded}[/green] records with {target} ({have} in all); "
        f"{source} still has {serving} and serves until RISKOPS_EMBEDDING={target}"
    )
