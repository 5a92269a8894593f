"""The `riskops` command: serve, migrate, keys, demo.

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
from riskops.ml.cli import register as register_model_commands
from riskops.similarity.cli import register as register_similarity_commands
from riskops.simulation.cli import register as register_simulate

if TYPE_CHECKING:
    from fastapi import FastAPI

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
register_similarity_commands(app)  # records reembed
err = LazyConsole(stderr=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
) -> None:
    """Run the API and the console (one process: the embedded stores belong to it)."""
    from riskops.app import create_app
    from riskops.settings import Settings

    settings = Settings()
    _run_server(create_app(settings), settings, host, port)


def _run_server(app: "FastAPI", settings: "Settings", host: str | None, port: int | None) -> None:
    import logging

    import uvicorn

    # The product's own INFO lines (first champion trained, models reloaded) next to uvicorn's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    product = logging.getLogger("riskops")
    product.setLevel(logging.INFO)
    product.addHandler(handler)

    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="info",
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
    from sqlalchemy.exc import DBAPIError

    from riskops.audit.service import cli_actor
    from riskops.auth import service as key_service
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> str:
        engine = create_engine(settings.resolved_database_url)

        async def create() -> str:
            async with transaction(engine) as connection:
                return (await key_service.create_key(connection, role, name, cli_actor())).plaintext

        try:
            try:
                return await create()
            except DBAPIError:  # no schema yet: migrate (slow to import), then try again
                from riskops.db.migrate import upgrade

                await upgrade(engine)
                return await create()
        finally:
            await engine.dispose()

    key = asyncio.run(run())
    article = "an" if role.value[0] in "aeiou" else "a"
    err.print(f"created {article} {role.value} key named '{name}' (shown once):")
    print(key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Id of the key (from its creation or the audit)")],
) -> None:
    """Revoke an API key and end its console sessions (every API process within a second)."""
    from riskops.audit.service import cli_actor
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
    if not stream:
        serve(host, port)
        return
    from riskops.app import create_app

    err.print(f"console: http://{host or settings.host}:{port or settings.port}/ (live flow on)")
    _run_server(with_stream(create_app(settings), rate, seed), settings, host, port)
