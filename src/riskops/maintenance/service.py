"""Empty the facts of a development install for a fresh demo; keep who may call and how
payments are decided.

The tables to empty come from the SQLAlchemy metadata minus an explicit keep-list, so a table
added later is emptied unless someone decides it is configuration or access.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.actions import Actor, AdminAction
from riskops.db.metadata import metadata

KEPT_TABLES = frozenset(
    {
        # Access: who may call, their console sessions and the record of administration.
        "api_keys",
        "console_sessions",
        "admin_audit_entries",
        # Configuration: how payments are decided, and the jobs that changed it.
        "ruleset_versions",
        "ruleset_drafts",
        "lists",
        "list_entries",
        "lists_version",
        "jobs",
        "embedding_versions",  # which embedder version is written and searched
        # The bus's own plumbing, not facts: consumers hold their positions in memory, and on
        # SQLite an emptied log restarts its offsets below them (new events would be skipped).
        # Its rows age out with the log's retention.
        "event_log",
        "consumer_offsets",
        "processed_events",
    }
)


def tables_to_empty() -> list[str]:
    """Every table not kept, children before parents (foreign keys allow the deletes)."""
    # str(): table names are `quoted_name`s, which orjson refuses as keys.
    return [str(t.name) for t in reversed(metadata.sorted_tables) if t.name not in KEPT_TABLES]


@dataclass(frozen=True, slots=True)
class ResetReport:
    deleted: dict[str, int]  # rows deleted per table
    audit_id: str


async def empty_facts(connection: AsyncConnection, actor: Actor) -> ResetReport:
    """Delete every fact row and audit it, in the caller's transaction."""
    deleted: dict[str, int] = {}
    for name in tables_to_empty():
        table = metadata.tables[name]
        count = int(await connection.scalar(select(func.count()).select_from(table)) or 0)
        await connection.execute(delete(table))
        deleted[name] = count
    audit_id = await audit.record(
        connection,
        actor,
        AdminAction.DATA_RESET,
        "data:facts",
        {"rows": {name: n for name, n in deleted.items() if n}},
        {"rows": 0, "kept": sorted(KEPT_TABLES)},
    )
    return ResetReport(deleted, audit_id)
