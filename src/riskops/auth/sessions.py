"""Console sessions kept server-side, so signing out or revoking the key ends them everywhere.

The browser holds a random session id (inside a signed cookie); the table keeps only its
SHA-256. A session is live while it has not ended, has not expired and its key is active.
A session opened with an OIDC token has no key: it keeps the token's subject, name and role,
and expires no later than the token.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.models import ApiKey, ConsoleSession
from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.auth.tokens import SUBJECT_PREFIX
from riskops.db.base import table_of
from riskops.db.types import utcnow

api_keys = table_of(ApiKey)
console_sessions = table_of(ConsoleSession)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(
    connection: AsyncConnection,
    principal: Principal,
    max_age: timedelta,
    not_after: datetime | None = None,
) -> str:
    """A new session for `principal`, ending after `max_age` or at `not_after` (a token's
    expiry), whichever comes first; returns the id the cookie carries."""
    now = utcnow()
    # Expired sessions are of no use to anyone: sign-ins sweep them.
    await connection.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    expires_at = now + max_age if not_after is None else min(now + max_age, not_after)
    holder = (
        {"subject": principal.key_id, "name": principal.name, "role": principal.role.value}
        if principal.key_id.startswith(SUBJECT_PREFIX)
        else {"key_id": principal.key_id}
    )
    await connection.execute(
        insert(console_sessions).values(
            id_hash=_hash(session_id), created_at=now, expires_at=expires_at, **holder
        )
    )
    return session_id


async def session_principal(connection: AsyncConnection, session_id: str) -> Principal | None:
    """Who holds this live session, or None (unknown, ended, expired or its key revoked)."""
    s, k = console_sessions.c, api_keys.c
    row = (
        await connection.execute(
            select(
                s.key_id,
                s.subject,
                s.name,
                s.role,
                k.name.label("key_name"),
                k.role.label("key_role"),
                k.revoked_at,
            )
            .outerjoin(api_keys, s.key_id == k.id)
            .where(s.id_hash == _hash(session_id), s.ended_at.is_(None), s.expires_at > utcnow())
        )
    ).first()
    if row is None:
        return None
    if row.key_id is None:
        return Principal(row.subject, row.name, Role(row.role))
    if row.revoked_at is not None:
        return None
    return Principal(row.key_id, row.key_name, Role(row.key_role))


async def end_session(connection: AsyncConnection, session_id: str) -> None:
    await connection.execute(
        update(console_sessions)
        .where(
            console_sessions.c.id_hash == _hash(session_id), console_sessions.c.ended_at.is_(None)
        )
        .values(ended_at=utcnow())
    )
