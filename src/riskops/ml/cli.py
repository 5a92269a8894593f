"""`riskops train`, `riskops backfill` and `riskops models list|promote|rollback|alias|drift`."""

from __future__ import annotations  # annotations name lazily imported types

import asyncio
import csv
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from riskops.core.console import LazyConsole

if TYPE_CHECKING:  # the product is imported when a command runs, not for --help
    from rich.table import Table
    from sqlalchemy.ext.asyncio import AsyncEngine

    from riskops.ml import service
    from riskops.ml.gates import GateResult
    from riskops.ml.registry import ModelRegistry
    from riskops.settings import Settings

T = TypeVar("T")
models_app = typer.Typer(
    rich_markup_mode=None, help="Registered models: list, promote, roll back, drift."
)
err = LazyConsole(stderr=True)
out = LazyConsole()


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("backfill")(backfill)
    app.add_typer(models_app, name="models", no_args_is_help=True)


def _settings() -> Settings:
    from riskops.settings import Settings

    return Settings()


async def upgrade(engine: AsyncEngine) -> None:
    from riskops.db.migrate import upgrade as upgrade_schema

    await upgrade_schema(engine)


def _run(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run async work with the runtime's engine; a product error becomes a clear exit."""
    from riskops.core.errors import RiskOpsError

    settings = _settings()
    try:
        return asyncio.run(work(settings))
    except RiskOpsError as error:
        err.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None


def _day(value: date, *, end: bool = False) -> datetime:
    moment = datetime.combine(value, time.min, UTC)
    return moment + timedelta(days=1) if end else moment


def train(
    from_: Annotated[datetime | None, typer.Option("--from", help="First day (YYYY-MM-DD)")] = None,
    to: Annotated[datetime | None, typer.Option(help="Last day, included (YYYY-MM-DD)")] = None,
    from_parquet: Annotated[
        str | None,
        typer.Option(help="Read an offline export (folder or s3://) instead of the database"),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Train on any table instead: a .csv or .parquet file")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="With --data: the binary column to predict")
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time", help="With --data: the event-time column (else the row order)"),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="With --data: the registered model's name (its model_id)")
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="With --data: the target value to predict, when it is not 1/true/yes"),
    ] = None,
    describe: Annotated[
        Path | None,
        typer.Option(help="With --data: a JSON file of column descriptions (optional)"),
    ] = None,
) -> None:
    """Train the fraud model on logged feature vectors joined with the labels known at the end
    of --to, or (--data, --target, --name) a model on any table."""
    if data is not None:
        if target is None or name is None:
            raise typer.BadParameter("--data needs --target and --name")
        _train_table(data, target, name, time_column, positive, describe)
        return
    if from_ is None or to is None:
        raise typer.BadParameter("give --from and --to (the feature log), or --data FILE")
    _train_fraud(from_, to, from_parquet)


def _train_fraud(from_: datetime, to: datetime, from_parquet: str | None) -> None:
    from riskops.audit.service import cli_actor
    from riskops.db.engine import create_engine
    from riskops.ml import service

    start, end = _day(from_.date()), _day(to.date(), end=True)
    if start >= end:
        raise typer.BadParameter("--from must be on or before --to")

    async def work(settings: Settings) -> service.TrainingOutcome:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            with err.status("opening the registry and training"):
                registry = await asyncio.to_thread(service.open_registry, settings)
                source = from_parquet or "feature-log"
                return await service.train_from_log(
                    engine, settings, registry, start, end, actor=cli_actor(), source=source
                )
        finally:
            await engine.dispose()

    outcome = _run(work)
    out.print(
        f"[green]registered {outcome.version.name} v{outcome.version.version} as "
        f"{outcome.alias}[/green] (train {outcome.rows['train']} rows, holdout "
        f"{outcome.rows['holdout']} with {outcome.rows['holdout_frauds']} frauds)"
    )
    out.print(_metrics_table(outcome.metrics))


def _train_table(
    data: Path,
    target: str,
    name: str,
    time_column: str | None,
    positive: str | None,
    describe: Path | None,
) -> None:
    import time as clock

    from riskops.audit.service import cli_actor
    from riskops.db.engine import create_engine
    from riskops.ml import service
    from riskops.ml.registry import Alias
    from riskops.ml.tabular_service import TableSpec, TableTrainingOutcome, train_from_table

    for given in (data, describe):
        if given is not None and not given.exists():  # before opening the registry (seconds)
            err.print(f"[red]{given} does not exist[/red]")
            raise typer.Exit(1)
    spec = TableSpec(data, target, name, time_column, positive, describe)
    started = clock.perf_counter()

    def step(message: str) -> None:
        err.print(f"[dim]{clock.perf_counter() - started:6.1f}s[/dim]  {message}")

    async def work(settings: Settings) -> TableTrainingOutcome:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            with err.status(f"training {name} on {data.name}"):
                registry = await asyncio.to_thread(service.open_registry, settings)
                return await train_from_table(engine, registry, spec, actor=cli_actor(), step=step)
        finally:
            await engine.dispose()

    outcome = _run(work)
    for column, why in outcome.ignored.items():
        out.print(f"[yellow]not a feature:[/yellow] {column} ({why})")
    if outcome.dropped_rows:
        out.print(f"[yellow]{outcome.dropped_rows} rows without a {target} value were left out")
    for check in outcome.gates.checks:
        out.print(f"  {'ok' if check.passed else 'FAILED'}  {check.name}: {check.message}")
    served = (
        f"POST /v1/predict serves it as model_id {name!r}"
        if outcome.alias is Alias.CHAMPION
        else f"promote it when ready; model_id '{name}@challenger' scores with it now"
    )
    out.print(
        f"[green]registered {name} v{outcome.version.version} as {outcome.alias}[/green] "
        f"(train {outcome.rows['train']} rows, holdout {outcome.rows['holdout']} with "
        f"{outcome.rows['holdout_frauds']} positives): {served}"
    )
    out.print(_metrics_table(outcome.metrics))


def _metrics_table(metrics: dict[str, float]) -> Table:
    from rich.table import Table

    table = Table("metric", "holdout")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}")
    return table


def backfill(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet, a handbook .pkl or a folder of them")],
    label_delay_days: Annotated[
        float | None, typer.Option(help="Days until a label is known; default RISKOPS_LABEL_DELAY")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many payments")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Store the CSV's rows as prediction records of this model (name, name@alias "
            "or name:version) instead of replaying payments"
        ),
    ] = None,
    batch_rows: Annotated[
        int, typer.Option(min=1, max=100_000, help="With --model: rows per transaction")
    ] = 5_000,
    restart: Annotated[
        bool, typer.Option(help="With --model: ignore the checkpoint and start at line 2")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(help="With --model: store contributions of rows at the review threshold"),
    ] = False,
) -> None:
    """Replay history through the real pipeline in event-time order, labels arriving later;
    or (--model) score a historical CSV into records of a model, resumably."""
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")
    if model is not None:
        _backfill_records(path, model, batch_rows, restart, explain)
        return

    from riskops.ml.backfill import backfill as run_backfill
    from riskops.ml.backfill import read_frame
    from riskops.runtime import build_runtime

    async def work(settings: Settings) -> tuple[int, int]:
        frame = read_frame(path)
        if label_delay_days is not None:  # one delay for the labels and the features reading them
            settings = settings.model_copy(update={"label_delay": timedelta(days=label_delay_days)})
        runtime = await build_runtime(settings)
        try:
            await upgrade(runtime.engine)
            return await run_backfill(runtime, frame, settings.label_delay, limit=limit)
        finally:
            await runtime.close()

    submitted, labelled = _run(work)
    out.print(f"[green]backfilled {submitted} payments, {labelled} labels[/green]")


def _backfill_records(
    path: Path, model_id: str, batch_rows: int, restart: bool, explain: bool
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from riskops.db.engine import create_engine
    from riskops.ml import record_backfill as rb
    from riskops.ml.records import resolve, schema_of
    from riskops.ml.service import open_registry
    from riskops.ml.serving import ModelServer

    if path.suffix.lower() != ".csv":
        raise typer.BadParameter("--model backfills a .csv file")
    lines = _count_lines(path)

    async def work(settings: Settings) -> tuple[rb.BackfillResult, str, Path]:
        registry = await asyncio.to_thread(open_registry, settings)
        name = model_id.split("@", 1)[0].split(":", 1)[0]
        checkpoint_file, rejects_file = rb.state_files(settings.data_dir, path, name)
        if restart:
            checkpoint_file.unlink(missing_ok=True)
            rejects_file.unlink(missing_ok=True)
        point = rb.Checkpoint.load(checkpoint_file)
        # A resumed run scores with the version the first run used, whatever the alias says now.
        wanted = f"{point.model_name}:{point.model_version}" if point else model_id
        if point is not None:
            err.print(
                f"resuming after line {point.line} with {point.model_name} "
                f"v{point.model_version}, as the first run (--restart to start over)"
            )
        server = ModelServer(canary_share=0.0, explain_above=1.0)
        served = await resolve(wanted, server, registry, settings.model_name)
        engine = create_engine(settings.resolved_database_url)
        shown = 0

        def report(bad: list[rb.BadRow]) -> None:
            nonlocal shown
            with rejects_file.open("a", newline="") as handle:
                csv.writer(handle).writerows((b.line, b.reason) for b in bad)
            for b in bad[: max(0, rb.SHOWN_BAD_ROWS - shown)]:
                progress.console.print(f"[yellow]line {b.line}:[/yellow] {b.reason}")
            shown += len(bad)

        try:
            await upgrade(engine)
            rejects_file.parent.mkdir(parents=True, exist_ok=True)
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("lines"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err.get(),
            ) as progress:
                start = point.line if point else 1
                task = progress.add_task(
                    f"{served.name} v{served.version}", total=lines, completed=start
                )
                result = await rb.backfill_records(
                    engine,
                    served,
                    schema_of(served),
                    path,
                    checkpoint_file,
                    threshold=settings.review_threshold,
                    batch_rows=batch_rows,
                    explain=explain,
                    on_batch=lambda line: progress.update(task, completed=line),
                    on_bad=report,
                )
            return result, f"{served.name} v{served.version}", rejects_file
        finally:
            await engine.dispose()

    result, model, rejects = _run(work)
    if result.resumed_after:
        out.print(f"resumed after line {result.resumed_after} (the checkpoint)")
    out.print(
        f"[green]{result.stored:,} records of {model} stored[/green], "
        f"{result.already:,} already there, {len(result.bad):,} bad rows skipped; "
        f"{result.rows:,} rows in {result.seconds:.1f}s "
        f"({result.rows / max(result.seconds, 1e-9):,.0f} rows/s; "
        f"{result.rows / max(result.cpu_seconds, 1e-9):,.0f} rows per CPU second)"
    )
    if result.bad:
        out.print(f"every bad row with its line and reason: {rejects}")


def _count_lines(path: Path) -> int:
    """Physical lines, for the progress bar's total (a quick pass over the bytes)."""
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


@models_app.command("list")
def list_models(
    name: Annotated[
        str | None, typer.Option(help="A model trained with --data; default the served one")
    ] = None,
) -> None:
    """Every version of a model with its aliases and holdout metrics."""
    from rich.table import Table

    from riskops.ml.service import open_registry

    settings = _settings()
    registry = open_registry(settings)
    table = Table("version", "aliases", "AUC", "AP", "recall@1%FPR", "created")
    for version in registry.versions(name or settings.model_name):
        m = version.metrics
        table.add_row(
            version.version,
            ", ".join(version.aliases) or "-",
            f"{m.get('auc', float('nan')):.4f}",
            f"{m.get('ap', float('nan')):.4f}",
            f"{m.get('recall_at_fpr_0.01', float('nan')):.4f}",
            datetime.fromtimestamp(version.created_at_ms / 1000, UTC).isoformat(timespec="seconds"),
        )
    out.print(table)


@models_app.command("alias")
def set_alias(
    version: Annotated[str, typer.Argument(help="Version to point the alias at")],
    alias: Annotated[str, typer.Option("--as", help="challenger or shadow")] = "challenger",
    clear: Annotated[bool, typer.Option(help="Remove the alias instead")] = False,
) -> None:
    """Make a version the challenger (canary traffic) or the shadow (scored off the hot path)."""
    from riskops.audit.service import cli_actor
    from riskops.ml.registry import Alias

    if alias not in {Alias.CHALLENGER, Alias.SHADOW}:
        raise typer.BadParameter("--as must be challenger or shadow; use `promote` for champion")
    chosen = Alias(alias)

    async def work(settings: Settings, registry: ModelRegistry, engine: AsyncEngine) -> str:
        from riskops.ml import service

        if clear:
            await service.clear_model_alias(engine, settings, registry, chosen, actor=cli_actor())
        else:
            await service.set_model_alias(
                engine, settings, registry, chosen, version, actor=cli_actor()
            )
        return settings.model_name

    name = _with_registry(work)
    if clear:
        out.print(f"[green]{alias} cleared[/green] (audited)")
    else:
        out.print(f"[green]{name} v{version} is now {alias}[/green] (audited)")


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version to make champion")],
    force: Annotated[
        bool, typer.Option(help="Promote even if a gate fails (recorded in the admin audit log)")
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="A model trained with --data; default the served one")
    ] = None,
) -> None:
    """Make a version the champion if it passes every gate (AUC, PSI, canary errors)."""
    from riskops.audit.service import cli_actor
    from riskops.db.engine import create_engine
    from riskops.ml import service
    from riskops.ml.tabular_service import promote_table_model

    async def work(settings: Settings) -> GateResult:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            registry = await asyncio.to_thread(service.open_registry, settings)
            with err.status("checking the promotion gates"):
                if name is not None and name != settings.model_name:
                    return await promote_table_model(
                        engine, registry, name, version, force=force, actor=cli_actor()
                    )
                return await service.promote(
                    engine, settings, registry, version, force=force, actor=cli_actor()
                )
        finally:
            await engine.dispose()

    result = _run(work)
    for check in result.checks:
        out.print(f"  {'ok' if check.passed else 'FAILED'}  {check.name}: {check.message}")
    out.print(
        f"[green]v{version} is the champion[/green]"
        + (" (forced; recorded in the admin audit log)" if not result.passed else " (audited)")
    )


@models_app.command("rollback")
def rollback() -> None:
    """Point the champion back at the previous champion (the API reloads within seconds)."""
    from riskops.audit.service import cli_actor

    async def work(
        settings: Settings, registry: ModelRegistry, engine: AsyncEngine
    ) -> tuple[str | None, str]:
        from riskops.ml import service

        return await service.rollback(engine, settings, registry, actor=cli_actor())

    current, previous = _with_registry(work)
    out.print(f"[green]champion rolled back: v{current} -> v{previous}[/green] (audited)")


def _with_registry(
    work: Callable[[Settings, ModelRegistry, AsyncEngine], Coroutine[Any, Any, T]],
) -> T:
    """Run `work` with the registry and a migrated database (where the audit log lives)."""
    from riskops.db.engine import create_engine
    from riskops.ml.service import open_registry

    async def run(settings: Settings) -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            registry = await asyncio.to_thread(open_registry, settings)
            return await work(settings, registry, engine)
        finally:
            await engine.dispose()

    return _run(run)


@models_app.command("drift")
def drift(
    hours: Annotated[float | None, typer.Option(help="Window; default from settings")] = None,
) -> None:
    """Compute and store a drift report (PSI per feature and score) for the champion now."""
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.ml import service
    from riskops.ml.registry import Alias

    async def work(settings: Settings) -> dict[str, object]:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            registry = await asyncio.to_thread(service.open_registry, settings)
            version = registry.alias_version(settings.model_name, Alias.CHAMPION)
            if version is None:
                raise service.NotEnoughData(f"{settings.model_name} has no champion yet")
            model = await asyncio.to_thread(registry.load, settings.model_name, version)
            report = await service.measure_drift(engine, settings, model, hours=hours)
            async with transaction(engine) as connection:
                await service.store_drift(connection, report)
            return report
        finally:
            await engine.dispose()

    report = _run(work)
    out.print(
        f"drift of v{report['model_version']} over {report['rows']} decisions: "
        f"score PSI {report['score_psi']}, "
        f"max PSI {report['max_psi']} ({report['max_psi_feature']})"
    )
