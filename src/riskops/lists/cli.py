"""`riskops lists list|create|entries|add|remove`: the same service the API uses, audited as
the CLI's user. Imports of the product happen inside each command (tests/test_cli_imports.py).
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from riskops.core.console import LazyConsole

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from riskops.settings import Settings

lists_app = typer.Typer(
    rich_markup_mode=None, help="Block, allow and watch lists rules read.", no_args_is_help=True
)
out = LazyConsole()
err = LazyConsole(stderr=True)
T = TypeVar("T")
KINDS = "card, bin, account, device, ip, merchant, country, email"


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")


def _run(work: Callable[["AsyncConnection", "Settings"], Awaitable[T]], *, write: bool) -> T:
    """Run `work` in one transaction (or a read connection) on a migrated database; a
    refused change prints its reason (and every refused value) and exits 1."""
    from riskops.core.errors import RiskOpsError
    from riskops.db import transaction
    from riskops.db.engine import create_engine
    from riskops.db.migrate import upgrade
    from riskops.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            if write:
                async with transaction(engine) as connection:
                    return await work(connection, settings)
            async with engine.connect() as connection:
                return await work(connection, settings)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except RiskOpsError as error:
        err.print(f"[red]{error.message}[/red]")
        for problem in error.details.get("errors", []):
            err.print(f"  value #{problem.get('index')}: {problem.get('reason')}")
        raise typer.Exit(1) from None


@lists_app.command("list")
def list_lists() -> None:
    """Every list with its kind, purpose and number of live entries."""
    from rich.table import Table

    from riskops.lists import service

    rows = _run(lambda connection, _: service.lists(connection), write=False)
    table = Table("name", "kind", "purpose", "entries", "description")
    for row in rows:
        table.add_row(
            row["name"], row["kind"], row["purpose"], str(row["entries"]), row["description"]
        )
    out.print(table)


@lists_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="lowercase_name, as rules will write it")],
    kind: Annotated[str, typer.Option(help=f"One of: {KINDS}")],
    purpose: Annotated[str, typer.Option(help="block, allow or watch")],
    description: Annotated[str, typer.Option(help="What the list is for")] = "",
) -> None:
    """Create an empty list (audited)."""
    from riskops.audit.service import cli_actor
    from riskops.lists import service
    from riskops.rules.lists import ListKind, ListPurpose

    try:
        list_kind, list_purpose = ListKind(kind), ListPurpose(purpose)
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    _run(
        lambda c, _: service.create_list(
            c, cli_actor(), name, list_kind, list_purpose, description
        ),
        write=True,
    )
    err.print(f"created list {name} ({kind}, {purpose})")


@lists_app.command("entries")
def entries(
    name: Annotated[str, typer.Argument(help="The list")],
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
) -> None:
    """A list's entries in value order (cards as tokens)."""
    from riskops.lists import service

    page, _ = _run(lambda c, _: service.entries(c, name, None, limit), write=False)
    for entry in page:
        expiry = entry["expires_at"] or "never"
        out.print(f"{entry['value']}\t{entry['reason']}\texpires {expiry}")


@lists_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The list")],
    values: Annotated[list[str], typer.Argument(help="Values (card numbers for card lists)")],
    reason: Annotated[str, typer.Option(help="Why (kept with each entry and in the audit)")],
    expires_at: Annotated[
        datetime | None, typer.Option(help="When the entries stop counting (UTC)")
    ] = None,
) -> None:
    """Add values, all or none (audited); effective in every API process within 2 s."""
    from datetime import UTC

    from riskops.audit.service import cli_actor
    from riskops.lists import service

    expiry = expires_at.replace(tzinfo=UTC) if expires_at and not expires_at.tzinfo else expires_at
    added = _run(
        lambda c, settings: service.add_entries(
            c, cli_actor(), name, values, reason, expiry, settings.token_secret()
        ),
        write=True,
    )
    err.print(f"{len(added['added'])} added, {len(added['renewed'])} renewed in {name}")


@lists_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The list")],
    value: Annotated[str, typer.Argument(help="The value (a card by number or token)")],
) -> None:
    """Remove one value (audited)."""
    from riskops.audit.service import cli_actor
    from riskops.lists import service

    _run(
        lambda c, settings: service.remove_entry(
            c, cli_actor(), name, value, settings.token_secret()
        ),
        write=True,
    )
    err.print(f"removed from {name}")
