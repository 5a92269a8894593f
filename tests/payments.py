"""Building blocks for payment tests: request bodies and row counts."""

import itertools
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.db.metadata import metadata

CARD = "4111111111111111"
OTHER_CARD = "5555555555554444"
_keys = itertools.count()
# Written by the in-process relay, consumers and the background embedding after a decision
# commits, on their own schedule: derived from what is counted, so not comparable between
# snapshots.
EVENT_PATH_TABLES = frozenset(
    {
        "event_log",
        "consumer_offsets",
        "processed_events",
        "decision_stats_hourly",
        "cases",  # the cases consumer opens one for each review decision
        "case_transactions",
        "record_embeddings",
        "embedding_versions",
        "recommendations",  # the continuous scan writes what it finds every minute
    }
)


def payment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": "acct-1",
        "amount_minor": 2_500,
        "currency": "EUR",
        "card_number": CARD,
        "merchant_id": "m-grocer-1",
        "merchant_category": "5411",
        "merchant_country": "DE",
        "channel": "pos",
        "device_id": "dev-1",
    }
    body.update(overrides)
    return body


def new_key() -> str:
    return f"key-{next(_keys)}"


# Who may call, and the record of who changed that: written by key administration and
# sign-ins, never by a payment.
ACCESS_TABLES = frozenset({"api_keys", "console_sessions", "admin_audit_entries"})
# What payments are decided with, never what they write: the shipped lists and ruleset v1
# exist from the migrations on.
CONFIGURATION_TABLES = frozenset(
    {"lists", "list_entries", "lists_version", "ruleset_versions", "ruleset_drafts", "jobs"}
)


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table but access tables and alembic's own: what a payment may write."""
    counts = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in ACCESS_TABLES | EVENT_PATH_TABLES | CONFIGURATION_TABLES:
                continue
            counts[table.name] = int(
                await connection.scalar(select(func.count()).select_from(table)) or 0
            )
    return counts


async def all_stored_text(engine: AsyncEngine) -> str:
    """Every value of every table as text, to prove what is never stored."""
    chunks = []
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = (await connection.execute(text(f"SELECT * FROM {table.name}"))).all()
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks)
