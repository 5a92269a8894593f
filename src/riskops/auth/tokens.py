"""OIDC bearer tokens: a JWT signed by the configured issuer names a caller and its role.

A token is told apart from an API key by its shape (three dot-separated parts; keys are
`rk_...` and hold no dot). Signature, expiry, not-before, issuer and audience are checked by
PyJWT; the role comes from a configurable claim, a string or a list of which the strongest
known role wins. Keys from a JWKS URL are fetched off the event loop and kept by key id.
"""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.errors import Forbidden, Unauthorized
from riskops.settings import Settings

# Weakest first: a token naming several roles acts with the last of them it names.
STRENGTH: tuple[Role, ...] = (Role.VIEWER, Role.SERVICE, Role.ANALYST, Role.APPROVER, Role.ADMIN)
SUBJECT_PREFIX = "oidc:"  # the principal's id: never collides with an API key's ULID
_ROLE_NAMES = frozenset(role.value for role in Role)
_MAX_ID = 64  # the audit log's actor column
_MAX_NAME = 128
_UNKNOWN_KID_FETCH_GAP = 1.0  # seconds between fetches caused by kids we do not hold
_MISSED_KID_TTL = 60.0  # a kid the issuer did not publish is not looked for again meanwhile


def looks_like_token(raw: str) -> bool:
    return raw.count(".") == 2


class TokenRefused(Forbidden):
    """A valid token whose role claim names no role RiskOps knows."""

    code = "token_role_refused"


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._algorithms = list(settings.jwt_algorithms)
        self._leeway = settings.jwt_leeway.total_seconds()
        self._claim_path = settings.jwt_role_claim.split(".")
        self._static_key = (
            PyJWK.from_json(_pem_to_jwk(settings.jwt_public_key))
            if settings.jwt_public_key
            else None
        )
        self._jwks = (
            PyJWKClient(
                settings.jwt_jwks_url,
                cache_keys=False,  # we keep keys by kid ourselves (below)
                cache_jwk_set=True,
                lifespan=int(settings.jwt_jwks_cache.total_seconds()),
                timeout=5,
            )
            if settings.jwt_jwks_url
            else None
        )
        self._cache_seconds = settings.api_key_cache.total_seconds()
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._keys: dict[str, PyJWK] = {}
        self._keys_until = 0.0
        self._keys_ttl = settings.jwt_jwks_cache.total_seconds()
        self._last_fetch = -_UNKNOWN_KID_FETCH_GAP
        self._missed: dict[str, float] = {}

    async def verify(self, raw: str) -> Principal:
        """The caller a token names; 401 for any invalid token, 403 for a role we do not know.

        A verified token is remembered until it expires (at most `cache_seconds`): checking an
        RS256 signature costs ~130 µs, a dict lookup well under one."""
        cached = self._verified.get(raw)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        principal, expires_at = await self._verify(raw)
        if self._cache_seconds > 0:
            if len(self._verified) > 10_000:
                self._verified.clear()
            lifetime = min(self._cache_seconds, expires_at + self._leeway - time.time())
            self._verified[raw] = (time.monotonic() + lifetime, principal)
        return principal

    async def verify_for_sign_in(self, raw: str) -> tuple[Principal, datetime]:
        """The caller and the moment its token expires: a console session must not outlive
        it. Not cached: a sign-in happens once per session."""
        principal, expires_at = await self._verify(raw)
        return principal, datetime.fromtimestamp(expires_at, UTC)

    async def _verify(self, raw: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(raw)
            key = await self._key_for(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                raw,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired") from None
        except jwt.PyJWTError as error:
            # The reason (audience, issuer, signature) helps the caller fix its client and
            # reveals nothing a holder of the token could not read from it.
            raise Unauthorized(f"the bearer token is not valid: {error}") from None
        role = self._role(claims)
        subject = str(claims["sub"])
        name = str(claims.get("name") or claims.get("email") or subject)
        principal = Principal((SUBJECT_PREFIX + subject)[:_MAX_ID], name[:_MAX_NAME], role)
        return principal, float(claims["exp"])

    def _role(self, claims: dict[str, Any]) -> Role:
        value: Any = claims
        for part in self._claim_path:
            value = value.get(part) if isinstance(value, dict) else None
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            raise TokenRefused(
                f"the bearer token carries no role in its `{'.'.join(self._claim_path)}` claim",
                {"claim": ".".join(self._claim_path)},
            )
        # Identity providers put many groups in one claim: the ones we do not know are
        # ignored, the strongest one we know acts; none known is refused.
        known = [Role(n) for n in names if n in _ROLE_NAMES]
        if not known:
            raise TokenRefused(
                "the bearer token names no known role",
                {"claim": ".".join(self._claim_path), "known": [r.value for r in STRENGTH]},
            )
        return max(known, key=STRENGTH.index)

    async def _key_for(self, kid: object) -> PyJWK:
        if self._static_key is not None:
            return self._static_key
        assert self._jwks is not None
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the token names no key id (kid)")
        now = time.monotonic()
        key = self._keys.get(kid) if now < self._keys_until else None
        if key is not None:
            return key
        if self._should_fetch(kid, now):
            # Expired cache or a new kid (the issuer rotated): fetch, off the event loop.
            self._last_fetch = now
            try:
                found = await asyncio.to_thread(self._jwks.get_signing_keys, True)
            except jwt.PyJWKClientError as error:
                message = f"the issuer's keys cannot be fetched: {error}"
                raise jwt.InvalidTokenError(message) from None
            self._keys = {k.key_id: k for k in found if k.key_id}
            self._keys_until = now + self._keys_ttl
        key = self._keys.get(kid)
        if key is None:
            if len(self._missed) > 10_000:
                self._missed.clear()
            self._missed[kid] = now + _MISSED_KID_TTL
            raise jwt.InvalidTokenError(f"the issuer publishes no key with id {kid!r}")
        return key

    def _should_fetch(self, kid: str, now: float) -> bool:
        """Forged kids must not turn requests into requests to the issuer: a kid found missing
        is not looked for again for a while, and unknown kids fetch at most once a second."""
        if kid in self._keys:
            return True  # a known key whose cache expired
        if self._missed.get(kid, 0.0) > now:
            return False
        return now - self._last_fetch >= _UNKNOWN_KID_FETCH_GAP


def _pem_to_jwk(pem: str) -> str:
    """A PEM public key as a JWK, so both key sources yield a `PyJWK` (it knows its alg)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(pem.encode())
    if isinstance(public, rsa.RSAPublicKey):
        return jwt.algorithms.RSAAlgorithm.to_jwk(public)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return jwt.algorithms.ECAlgorithm.to_jwk(public)
    raise ValueError("RISKOPS_JWT_PUBLIC_KEY must be an RSA or EC public key")
