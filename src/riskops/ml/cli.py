"""`riskops train`, `riskops backfill` and `riskops models list|promote|rollback|alias|drift`."""

from __future__ import annotations  # annotations name lazily imported types

import asyncio
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
    from_: Annotated[datetime, typer.Option("--from", help="First day (YYYY-MM-DD)")],
    to: Annotated[datetime, typer.Option(help="Last day, included (YYYY-MM-DD)")],
    from_parquet: Annotated[
        str | None,
        typer.Option(help="Read an offline export (folder or s3://) instead of the database"),
    ] = None,
) -> None:
    """Train on logged feature vectors joined with the labels known at the end of --to."""
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
) -> None:
    """Replay history through the real pipeline in event-time order, labels arriving later."""
    from riskops.ml.backfill import backfill as run_backfill
    from riskops.ml.backfill import read_frame
    from riskops.runtime import build_runtime

    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")

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


@models_app.command("list")
def list_models() -> None:
    """Every version of the served model with its aliases and holdout metrics."""
    from rich.table import Table

    from riskops.ml.service import open_registry

    settings = _settings()
    registry = open_registry(settings)
    table = Table("version", "aliases", "AUC", "AP", "recall@1%FPR", "created")
    for version in registry.versions(settings.model_name):
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
) -> None:
    """Make a version the champion if it passes every gate (AUC, PSI, canary errors)."""
    from riskops.audit.service import cli_actor
    from riskops.db.engine import create_engine
    from riskops.ml import service

    async def work(settings: Settings) -> GateResult:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            registry = await asyncio.to_thread(service.open_registry, settings)
            with err.status("checking the promotion gates"):
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
