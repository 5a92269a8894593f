"""API keys: created once and shown once, stored as a SHA-256 hash, looked up by prefix."""

import hmac
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.audit import service as audit
from riskops.audit.service import SYSTEM, Actor, AdminAction
from riskops.auth.keys import hash_secret, new_key_material, split_key
from riskops.auth.models import ApiKey, ConsoleSession
from riskops.auth.roles import Role
from riskops.auth.throttle import AuthThrottle
from riskops.core.background import Background
from riskops.core.errors import NotFound, Unauthorized
from riskops.core.ids import new_id
from riskops.db.base import table_of
from riskops.db.types import utcnow

api_keys = table_of(ApiKey)
console_sessions = table_of(ConsoleSession)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    role: Role

    def actor(self) -> Actor:
        """This key holder as the author of an administrative action."""
        return Actor(self.key_id, self.name)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    principal: Principal
    plaintext: str  # shown once, never stored


def _target(key_id: str) -> str:
    return f"api_key:{key_id}"


async def create_key(
    connection: AsyncConnection, role: Role, name: str, actor: Actor = SYSTEM
) -> CreatedKey:
    """Create a key and its audit row in the caller's transaction."""
    key = new_key_material()
    key_id = new_id()
    await connection.execute(
        insert(api_keys).values(
            id=key_id,
            prefix=key.prefix,
            key_hash=key.key_hash,
            role=role.value,
            name=name,
            created_at=utcnow(),
        )
    )
    after = {"role": role.value, "name": name, "prefix": key.prefix}
    await audit.record(connection, actor, AdminAction.KEY_CREATED, _target(key_id), None, after)
    return CreatedKey(Principal(key_id, name, role), key.plaintext)


async def revoke_key(connection: AsyncConnection, key_id: str, actor: Actor = SYSTEM) -> None:
    """Revoke a key, end its console sessions and audit it, all in the caller's transaction.

    Call `KeyVerifier.forget_revoked()` after the commit so this process refuses it at once.
    """
    row = (
        await connection.execute(
            select(api_keys.c.role, api_keys.c.name).where(
                api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
            )
        )
    ).first()
    now = utcnow()
    result = await connection.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if row is None or result.rowcount == 0:
        raise NotFound(f"no active API key with id {key_id}", {"key_id": key_id})
    ended = await connection.execute(
        update(console_sessions)
        .where(console_sessions.c.key_id == key_id, console_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    await audit.record(
        connection,
        actor,
        AdminAction.KEY_REVOKED,
        _target(key_id),
        {"role": row.role, "name": row.name, "revoked_at": None},
        {"revoked_at": now.isoformat(), "sessions_ended": int(ended.rowcount or 0)},
    )


async def count_keys(connection: AsyncConnection) -> int:
    result = await connection.scalar(select(func.count()).select_from(api_keys))
    return int(result or 0)


async def key_names(connection: AsyncConnection, key_ids: set[str]) -> dict[str, str]:
    """The name of each key id (what records keep as their author), for people to read."""
    if not key_ids:
        return {}
    query = select(api_keys.c.id, api_keys.c.name).where(api_keys.c.id.in_(sorted(key_ids)))
    return {row[0]: row[1] for row in await connection.execute(query)}


async def count_revoked(connection: AsyncConnection) -> int:
    """Keys are never un-revoked, so this number only grows: a revocation generation."""
    result = await connection.scalar(select(func.count(api_keys.c.revoked_at)))
    return int(result or 0)


class KeyVerifier:
    """Checks keys against the database, remembering valid ones briefly (no I/O per request).

    Revocation: the revoking process calls `forget_revoked()` and refuses the key at once;
    every process re-reads the revocation count every `revocation_check` (one small query
    per process, never per request) and drops its cache when the count grew. A lookup that
    raced a drop is not cached (the generation changed meanwhile).
    Failed authentication is counted per client; a locked-out client gets 429.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        cache_seconds: float,
        throttle: AuthThrottle,
        revocation_check: timedelta = timedelta(seconds=1),
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self.throttle = throttle
        self._check_every = revocation_check.total_seconds()
        self._generation = 0
        self._revoked_seen: int | None = None
        self._background = Background("keys")

    async def verify(self, raw: str, client: str | None = None) -> Principal:
        """The holder of `raw`; 401 if not valid, 429 while `client` is locked out."""
        if client is not None:
            self.throttle.check(client)
        cached = self._cache.get(raw)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        parts = split_key(raw)
        if parts is None:
            self._failed(client)
            raise Unauthorized("the API key is malformed")
        prefix, secret = parts
        generation = self._generation
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(
                        api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.key_hash
                    ).where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
                )
            ).first()
        if row is None or not hmac.compare_digest(row.key_hash, hash_secret(secret)):
            self._cache.pop(raw, None)
            self._failed(client)
            raise Unauthorized("the API key is not valid")
        principal = Principal(row.id, row.name, Role(row.role))
        if generation == self._generation:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[raw] = (now + self._cache_seconds, principal)
        return principal

    def _failed(self, client: str | None) -> None:
        if client is not None:
            self.throttle.failed(client)

    def forget_revoked(self) -> None:
        """A key was revoked: nothing cached before now is trusted again."""
        self._generation += 1
        self._cache.clear()

    async def check_revocations(self) -> None:
        """Drop the cache if a key was revoked (by any process) since the last check."""
        async with self._engine.connect() as connection:
            revoked = await count_revoked(connection)
        if revoked != self._revoked_seen:
            self.forget_revoked()
            self._revoked_seen = revoked

    def start(self) -> None:
        self._background.spawn(self._watch(), "revocations")

    async def _watch(self) -> None:
        failures = 0
        while not self._background.stopping.is_set():
            try:
                await self.check_revocations()
                failures = 0
            except Exception:
                # Cannot tell whether a key was revoked: trust nothing cached meanwhile. The
                # first checks may run before the start-up migration created the table.
                self.forget_revoked()
                failures += 1
                if failures == 5:
                    log.exception("checking for revoked API keys keeps failing; retrying")
            await self._background.sleep(self._check_every)

    async def stop(self, deadline: float = 5.0) -> list[str]:
        """Stop the revocation watcher within `deadline` seconds; names what did not stop."""
        return await self._background.stop(deadline)
