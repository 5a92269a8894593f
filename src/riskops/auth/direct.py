"""`riskops keys create` straight through the database driver, so it answers at once.

Importing the application stack to write two rows costs over a second (SQLAlchemy 0.4 s,
pydantic-settings 0.3 s, the ORM models); the standard library's sqlite3 or asyncpg alone
take a fraction of that. The rows written are exactly what `auth.service.create_key` and
`audit.service.record` write (tests/auth/test_direct_keys.py reads them back through those).
A database without the schema yet is left to the full path, which migrates first.
"""

import asyncio
import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from riskops.audit.actions import Actor, AdminAction
from riskops.auth.keys import new_key_material
from riskops.auth.roles import Role
from riskops.core.ids import new_id

_INSERT_KEY = "INSERT INTO api_keys (id, prefix, key_hash, role, name, created_at) VALUES "
_INSERT_AUDIT = (
    "INSERT INTO admin_audit_entries (id, actor, actor_name, action, target, at, after) VALUES "
)


def database_url(cwd: Path | None = None) -> str:
    """The database `Settings().resolved_database_url` names, read without pydantic-settings:
    RISKOPS_* variables (any case) over the `.env` file, else SQLite in the data folder."""
    env_file = (cwd or Path.cwd()) / ".env"
    values = {k.upper(): v for k, v in dotenv_values(env_file).items() if v is not None}
    values |= {k.upper(): v for k, v in os.environ.items()}
    data_dir = Path(values.get("RISKOPS_DATA_DIR") or ".riskops")
    return values.get("RISKOPS_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'riskops.db'}"


def create_key(url: str, role: Role, name: str, actor: Actor) -> str | None:
    """Write a key and its audit row in one transaction; the key, or None without a schema."""
    key = new_key_material()
    key_id, now = new_id(), datetime.now(UTC)
    key_row = (key_id, key.prefix, key.key_hash, role.value, name)
    after = {"role": role.value, "name": name, "prefix": key.prefix}
    audit_row = (new_id(), actor.id, actor.name, AdminAction.KEY_CREATED.value, f"api_key:{key_id}")
    if url.startswith("sqlite"):
        written = _write_sqlite(url, key_row, audit_row, after, now)
    else:
        written = asyncio.run(_write_postgres(url, key_row, audit_row, after, now))
    return key.plaintext if written else None


def _write_sqlite(
    url: str, key_row: tuple[str, ...], audit_row: tuple[str, ...], after: dict[str, Any],
    now: datetime,
) -> bool:  # fmt: skip
    path = Path(url.split(":///", 1)[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    # Naive UTC text in SQLAlchemy's own format: what db.types.UTCDateTime stores on SQLite.
    at = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    connection = sqlite3.connect(path, timeout=10)
    try:
        with connection:  # one transaction: both rows or neither
            connection.execute(_INSERT_KEY + "(?, ?, ?, ?, ?, ?)", (*key_row, at))
            connection.execute(
                _INSERT_AUDIT + "(?, ?, ?, ?, ?, ?, ?)",
                (*audit_row, at, json.dumps(after, separators=(",", ":"))),
            )
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return False
        raise
    finally:
        connection.close()
    return True


async def _write_postgres(
    url: str, key_row: tuple[str, ...], audit_row: tuple[str, ...], after: dict[str, Any],
    now: datetime,
) -> bool:  # fmt: skip
    import asyncpg

    dsn = "postgresql://" + url.split("://", 1)[1]
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(_INSERT_KEY + "($1, $2, $3, $4, $5, $6)", *key_row, now)
            await connection.execute(
                _INSERT_AUDIT + "($1, $2, $3, $4, $5, $6, $7::jsonb)",
                *audit_row, now, json.dumps(after, separators=(",", ":")),
            )  # fmt: skip
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await connection.close()
    return True
