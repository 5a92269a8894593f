"""What an API key is: `rk_<prefix>_<secret>`, stored as the prefix and the secret's hash.

Free of the database layer, so the fast `riskops keys create` path shares it with the service.
"""

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "rk_"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    prefix: str  # stored in clear: finds the row
    key_hash: str  # stored: SHA-256 of the secret
    plaintext: str  # shown once, never stored


def new_key_material() -> KeyMaterial:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return KeyMaterial(prefix, hash_secret(secret), f"{KEY_PREFIX}{prefix}_{secret}")


def hash_secret(secret: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is safe; no slow KDF needed per request.
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(raw: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, None for anything else."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or len(secret) < 32:
        return None
    return prefix, secret
