"""Console sessions kept server-side, so signing out or revoking the key ends them everywhere.

The browser holds a random session id (inside a signed cookie); the table keeps only its
SHA-256. A session is live while it has not ended, has not expired and its key is active.
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.models import ApiKey, ConsoleSession
from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.db.base import table_of
from riskops.db.types import utcnow

api_keys = table_of(ApiKey)
console_sessions = table_of(ConsoleSession)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(connection: AsyncConnection, key_id: str, max_age: timedelta) -> str:
    """A new session for the holder of `key_id`; returns the id the cookie carries."""
    now = utcnow()
    # Expired sessions are of no use to anyone: sign-ins sweep them.
    await connection.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    await connection.execute(
        insert(console_sessions).values(
            id_hash=_hash(session_id), key_id=key_id, created_at=now, expires_at=now + max_age
        )
    )
    return session_id


async def session_principal(connection: AsyncConnection, session_id: str) -> Principal | None:
    """Who holds this live session, or None (unknown, ended, expired or its key revoked)."""
    row = (
        await connection.execute(
            select(api_keys.c.id, api_keys.c.name, api_keys.c.role)
            .join(console_sessions, console_sessions.c.key_id == api_keys.c.id)
            .where(
                console_sessions.c.id_hash == _hash(session_id),
                console_sessions.c.ended_at.is_(None),
                console_sessions.c.expires_at > utcnow(),
                api_keys.c.revoked_at.is_(None),
            )
        )
    ).first()
    return Principal(row.id, row.name, Role(row.role)) if row is not None else None


async def end_session(connection: AsyncConnection, session_id: str) -> None:
    await connection.execute(
        update(console_sessions)
        .where(
            console_sessions.c.id_hash == _hash(session_id), console_sessions.c.ended_at.is_(None)
        )
        .values(ended_at=utcnow())
    )
