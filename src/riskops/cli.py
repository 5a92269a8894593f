"""The `riskops` command: serve, worker, migrate, keys, demo.

Imports of the product (the app, the database, the models) happen inside each command, so
`--help` of any command and `riskops keys create` answer at once (tests/test_cli_imports.py).
"""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskops.auth.roles import Role
from riskops.core.console import LazyConsole
from riskops.events.cli import register as register_event_commands
from riskops.labels.cli import register as register_label_commands
from riskops.lists.cli import register as register_list_commands
from riskops.ml.cli import register as register_model_commands
from riskops.offline.cli import register as register_export
from riskops.rulesets.cli import register as register_rules_commands
from riskops.similarity.cli import register as register_similarity_commands
from riskops.simulation.cli import register as register_simulate

if TYPE_CHECKING:
    from fastapi import FastAPI

    from riskops.audit.actions import Actor
    from riskops.settings import Settings

# Plain help (no rich markup): rendering it with rich costs more than the 0.5 s a --help may take.
app = typer.Typer(
    rich_markup_mode=None,
    help="RiskOps: real-time transaction risk decisions.",
    no_args_is_help=True,
)
keys_app = typer.Typer(rich_markup_mode=None, help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
register_model_commands(app)  # train, backfill, models list|promote|rollback|alias|drift
register_event_commands(app)  # relay, consume, replay, events tail|status|schemas
register_simulate(app)
register_export(app)
register_list_commands(app)  # lists list|create|entries|add|remove
register_rules_commands(app)  # rules list|show|diff|validate|draft|backtest|submit|approve|reject
register_label_commands(app)  # labels import
register_similarity_commands(app)  # records reembed
err = LazyConsole(stderr=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="No worker process: run `riskops worker` apart")
    ] = False,
    single_process: Annotated[
        bool, typer.Option("--single-process", help="Background work inside the API process")
    ] = False,
) -> None:
    """Run the API and the console, and a supervised worker process beside them.

    The worker (relay, consumers, model jobs) is restarted if it dies and stopped with the API.
    """
    from riskops.settings import Settings

    settings = Settings()
    _run_server(_serving_app(settings, api_only, single_process), settings, host, port)


def _serving_app(settings: "Settings", api_only: bool, single_process: bool) -> "FastAPI":
    from riskops.app import create_app
    from riskops.processes.placement import ProcessRole
    from riskops.processes.supervisor import worker_command

    if single_process:
        return create_app(settings, ProcessRole.ALL)
    # RISKOPS_RUN_WORKERS=false: no background work beside this API at all (it runs elsewhere).
    supervised = settings.run_workers and not api_only
    return create_app(settings, ProcessRole.API, worker_command() if supervised else None)


@app.command()
def worker(
    parent_pid: Annotated[
        int | None, typer.Option(help="Stop when this process is gone (set by `serve`)")
    ] = None,
) -> None:
    """Run the background work: outbox relay, consumers, first champion, drift, retraining.

    `riskops serve` starts one itself; production runs it beside `riskops serve --api-only`.
    """
    from riskops.observability.logs import configure_logging
    from riskops.processes.worker import run_worker
    from riskops.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format)
    asyncio.run(run_worker(settings, parent_pid))


def _run_server(app: "FastAPI", settings: "Settings", host: str | None, port: int | None) -> None:
    import uvicorn

    from riskops.observability.logs import configure_logging

    # The product's own INFO lines (first champion trained, models reloaded) and uvicorn's,
    # in one format, each with its request id.
    configure_logging(settings.log_format)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,  # configured above
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead")] = False,
) -> None:
    """Bring the database schema to a revision (Alembic migrations are its only source)."""
    from riskops.db.engine import create_engine
    from riskops.db.migrate import downgrade, upgrade
    from riskops.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await (downgrade(engine, revision) if down else upgrade(engine, revision))
        finally:
            await engine.dispose()

    asyncio.run(run())
    err.print(
        f"[green]schema at {revision}[/green] ({settings.resolved_database_url.split('@')[-1]})"
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="Role the key acts as")],
    name: Annotated[str, typer.Option(help="Who or what holds the key")] = "cli",
) -> None:
    """Create an API key; the key alone is printed on the last line of stdout."""
    from riskops.audit.actions import cli_actor
    from riskops.auth import direct

    actor = cli_actor()
    key = direct.create_key(direct.database_url(), role, name, actor)  # answers at once
    if key is None:  # no schema yet: the full path migrates first (slow to import, once)
        key = _create_key_migrating(role, name, actor)
    article = "an" if role.value[0] in "aeiou" else "a"
    # Plain text: rich's console would take longer to import than the key takes to write.
    typer.echo(f"created {article} {role.value} key named '{name}' (shown once):", err=True)
    print(key)


def _create_key_migrating(role: Role, name: str, actor: "Actor") -> str:
    from riskops.auth import service as key_service
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.db.migrate import upgrade
    from riskops.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> str:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            async with transaction(engine) as connection:
                return (await key_service.create_key(connection, role, name, actor)).plaintext
        finally:
            await engine.dispose()

    return asyncio.run(run())


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Id of the key (from its creation or the audit)")],
) -> None:
    """Revoke an API key and end its console sessions (every API process within a second)."""
    from riskops.audit.actions import cli_actor
    from riskops.auth import service as key_service
    from riskops.core.errors import NotFound
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.db.migrate import upgrade
    from riskops.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            async with transaction(engine) as connection:
                await key_service.revoke_key(connection, key_id, cli_actor())
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except NotFound as error:
        err.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    err.print(f"revoked key {key_id} (audited)")


@app.command()
def demo(
    transactions: Annotated[int, typer.Option(help="Synthetic payments to seed")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve afterwards")
    ] = True,
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Keep a gentle live flow while serving")
    ] = False,
    rate: Annotated[float, typer.Option(help="Live payments per second with --stream")] = 2.0,
) -> None:
    """Seed a believable last day of payments through the real pipeline, then serve.

    Models serving (the default), the champion scores the seeded payments: on a fresh data
    folder the first one trains before seeding (about two minutes).
    """
    from riskops.demo import seed_history, with_stream
    from riskops.settings import Settings

    if rate <= 0:
        raise typer.BadParameter("--rate must be above 0 (payments per second)")
    settings = Settings()
    stored, model = (
        asyncio.run(seed_history(settings, transactions, seed)) if transactions else (0, None)
    )
    scorer = f"scored by {model}" if model else "scored by the rules alone (no model serving)"
    err.print(
        f"[green]seeded {stored} transactions[/green] {scorer} into "
        f"{Path(settings.data_dir).resolve()}"
    )
    if not serve_after:
        return
    app_ = _serving_app(settings, api_only=False, single_process=False)
    if stream:
        console = f"http://{host or settings.host}:{port or settings.port}/"
        err.print(f"console: {console} (live flow on)")
        app_ = with_stream(app_, rate, seed)
    _run_server(app_, settings, host, port)
