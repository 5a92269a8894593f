"""API keys: created once and shown once, stored as a SHA-256 hash, looked up by prefix."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.auth.models import ApiKey
from riskops.auth.roles import Role
from riskops.core.errors import NotFound, Unauthorized
from riskops.core.ids import new_id
from riskops.db.base import table_of
from riskops.db.types import utcnow

KEY_PREFIX = "rk_"
api_keys = table_of(ApiKey)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class CreatedKey:
    principal: Principal
    plaintext: str  # shown once, never stored


def _hash(secret: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is safe; no slow KDF needed per request.
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(raw: str) -> tuple[str, str] | None:
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or len(secret) < 32:
        return None
    return prefix, secret


async def create_key(connection: AsyncConnection, role: Role, name: str) -> CreatedKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key_id = new_id()
    await connection.execute(
        insert(api_keys).values(
            id=key_id,
            prefix=prefix,
            key_hash=_hash(secret),
            role=role.value,
            name=name,
            created_at=utcnow(),
        )
    )
    return CreatedKey(Principal(key_id, name, role), f"{KEY_PREFIX}{prefix}_{secret}")


async def revoke_key(connection: AsyncConnection, key_id: str) -> None:
    result = await connection.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"no active API key with id {key_id}", {"key_id": key_id})


async def count_keys(connection: AsyncConnection) -> int:
    result = await connection.scalar(select(func.count()).select_from(api_keys))
    return int(result or 0)


class KeyVerifier:
    """Checks keys against the database, remembering answers briefly to keep the hot path local.

    A revoked key stops working within `cache_seconds`.
    """

    def __init__(self, engine: AsyncEngine, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def verify(self, raw: str) -> Principal:
        cached = self._cache.get(raw)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        parts = _split(raw)
        if parts is None:
            raise Unauthorized("the API key is malformed")
        prefix, secret = parts
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(
                        api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.key_hash
                    ).where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
                )
            ).first()
        if row is None or not hmac.compare_digest(row.key_hash, _hash(secret)):
            self._cache.pop(raw, None)
            raise Unauthorized("the API key is not valid")
        principal = Principal(row.id, row.name, Role(row.role))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[raw] = (now + self._cache_seconds, principal)
        return principal

    async def verify_id(self, key_id: str) -> Principal:
        """The holder of a still-active key by id (a console session keeps the id, not the key)."""
        cache_key = f"id:{key_id}"
        cached = self._cache.get(cache_key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(api_keys.c.id, api_keys.c.name, api_keys.c.role).where(
                        api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            self._cache.pop(cache_key, None)
            raise Unauthorized("the API key of this session was revoked; sign in again")
        principal = Principal(row.id, row.name, Role(row.role))
        self._cache[cache_key] = (now + self._cache_seconds, principal)
        return principal
