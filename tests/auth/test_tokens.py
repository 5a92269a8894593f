"""OIDC bearer tokens against the real app: signed here by keys made here, checked there."""

import asyncio
import contextlib
import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from riskops.app import create_app
from riskops.auth.roles import Role
from tests.conftest import Api, create_keys, make_settings
from tests.payments import new_key, payment

ISSUER = "https://idp.example.test/realms/riskops"
AUDIENCE = "riskops-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def token(
    key: Any = RSA_KEY,
    algorithm: str = "RS256",
    headers: dict[str, str] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-7", "iat": now, "exp": now + 300}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


PEM_SETTINGS = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_public_key": pem(RSA_KEY)}


async def status_of(api: Api, raw: str) -> tuple[int, int, int]:
    """(read, submit a payment, administer) as the holder of `raw` is answered."""
    headers = bearer(raw)
    read = await api.client.get("/v1/stats", headers=headers)
    submit = await api.client.post(
        "/v1/transactions",
        json=payment(account_id=f"acct-{new_key()}"),
        headers={**headers, "Idempotency-Key": new_key()},
    )
    administer = await api.client.get("/v1/admin/audit", headers=headers)
    return read.status_code, submit.status_code, administer.status_code


EXPECTED = {
    Role.VIEWER: (200, 403, 403),
    Role.SERVICE: (200, 201, 403),
    Role.ANALYST: (200, 201, 403),
    Role.APPROVER: (200, 201, 403),
    Role.ADMIN: (200, 201, 200),
}


@pytest.mark.settings(**PEM_SETTINGS)
async def test_a_token_acts_with_its_role_and_api_keys_keep_working(api: Api) -> None:
    for role, expected in EXPECTED.items():
        assert await status_of(api, token(roles=[role.value])) == expected, role
    # A single string works too, and an API key is still a key.
    assert await status_of(api, token(roles="admin")) == EXPECTED[Role.ADMIN]
    assert await status_of(api, api.keys[Role.VIEWER]) == EXPECTED[Role.VIEWER]


@pytest.mark.settings(**PEM_SETTINGS)
async def test_the_strongest_known_role_wins_and_unknown_ones_are_ignored(api: Api) -> None:
    mixed = token(roles=["offline_access", "viewer", "approver", "uma_authorization"])
    assert await status_of(api, mixed) == EXPECTED[Role.APPROVER]


@pytest.mark.settings(**PEM_SETTINGS)
async def test_the_audit_names_the_token_subject(api: Api) -> None:
    response = await api.client.post(
        "/v1/transactions",
        json=payment(),
        headers={**bearer(token(roles=["service"], name="gateway")), "Idempotency-Key": "k1"},
    )
    assert response.status_code == 201
    audit = await api.client.get(
        f"/v1/audit/{response.json()['id']}", headers=api.as_role(Role.VIEWER)
    )
    assert audit.json()["inputs_snapshot"]["submitted_by"] == "oidc:user-7"


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "details"}
    return str(body["message"]).lower()


@pytest.mark.settings(**PEM_SETTINGS)
async def test_invalid_tokens_are_refused_in_the_one_error_shape(api: Api) -> None:
    async def get(raw: str) -> httpx.Response:
        return await api.client.get("/v1/stats", headers=bearer(raw))

    now = int(time.time())
    expired = await get(token(roles=["admin"], iat=now - 600, exp=now - 120))
    assert "expired" in refused(expired, 401, "unauthorized")
    assert expired.headers["WWW-Authenticate"] == "Bearer"
    # Within the leeway (30 s) a just-expired token still passes: clocks drift.
    assert (await get(token(roles=["viewer"], exp=now - 5))).status_code == 200
    not_yet = await get(token(roles=["admin"], nbf=now + 600))
    assert "not yet valid" in refused(not_yet, 401, "unauthorized")
    audience = await get(token(roles=["admin"], aud="another-api"))
    assert "audience" in refused(audience, 401, "unauthorized")
    issuer = await get(token(roles=["admin"], iss="https://evil.example.test"))
    assert "issuer" in refused(issuer, 401, "unauthorized")
    forged = await get(token(OTHER_RSA_KEY, roles=["admin"]))
    assert "signature" in refused(forged, 401, "unauthorized")
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "roles": "admin"}
    unsigned = jwt.encode(claims, "", "none")
    refused(await get(unsigned), 401, "unauthorized")
    refused(await get(token(roles=["admin"], exp=None)), 401, "unauthorized")  # exp required
    unknown = await get(token(roles=["superuser", "root"]))
    refused(unknown, 403, "token_role_refused")
    none = await get(token())
    assert "no role" in refused(none, 403, "token_role_refused")
    refused(await get(token(roles=[])), 403, "token_role_refused")
    refused(await get("not.a.token"), 401, "unauthorized")


@pytest.mark.settings(**PEM_SETTINGS, auth_failures_max=3)
async def test_bad_tokens_count_towards_the_client_lockout(api: Api) -> None:
    forged = token(OTHER_RSA_KEY, roles=["admin"])
    for _ in range(3):
        assert (await api.client.get("/v1/stats", headers=bearer(forged))).status_code == 401
    locked = await api.client.get("/v1/stats", headers=bearer(token(roles=["admin"])))
    assert locked.status_code == 429
    assert locked.headers["Retry-After"]


async def test_tokens_are_refused_when_no_issuer_is_configured(api: Api) -> None:
    response = await api.client.get("/v1/stats", headers=bearer(token(roles=["admin"])))
    refused(response, 401, "unauthorized")


@pytest.mark.settings(
    jwt_issuer=ISSUER,
    jwt_audience=AUDIENCE,
    jwt_public_key=pem(EC_KEY),
    jwt_role_claim="realm_access.roles",
)
async def test_es256_and_a_nested_role_claim(api: Api) -> None:
    raw = token(EC_KEY, "ES256", realm_access={"roles": ["analyst"]})
    assert await status_of(api, raw) == EXPECTED[Role.ANALYST]
    # An RS256 token cannot pass for the EC key's.
    rs256 = await api.client.get("/v1/stats", headers=bearer(token(roles=["admin"])))
    refused(rs256, 401, "unauthorized")


def test_settings_need_issuer_and_audience_and_one_key_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ISSUER"):
        make_settings(tmp_path, jwt_public_key=pem(RSA_KEY))
    with pytest.raises(ValueError, match="not both"):
        make_settings(tmp_path, **PEM_SETTINGS, jwt_jwks_url="http://127.0.0.1:1/jwks")
    assert not make_settings(tmp_path).jwt_enabled
    assert make_settings(tmp_path, **PEM_SETTINGS).jwt_enabled


# --- JWKS: keys fetched from the issuer's URL, served here by a real HTTP server -------------


class Jwks:
    """The issuer's JWKS document, changeable while served; counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0

    def publish(self, kid: str, key: Any) -> None:
        jwk = json.loads(jwt.algorithms.get_default_algorithms()["RS256"].to_jwk(key.public_key()))
        self.keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})


@contextlib.contextmanager
def serve(jwks: Jwks) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jwks.fetches += 1
            body = json.dumps({"keys": jwks.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/realms/riskops/certs"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.asynccontextmanager
async def jwks_app(tmp_path: Path, url: str) -> AsyncIterator[Api]:
    settings = make_settings(
        tmp_path, None, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks_url=url
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield Api(client, runtime, keys)


async def test_keys_come_from_the_jwks_url_cached_and_rotated(tmp_path: Path) -> None:
    jwks = Jwks()
    jwks.publish("k1", RSA_KEY)
    with serve(jwks) as url:
        async with jwks_app(tmp_path, url) as api:
            first = token(roles=["admin"], headers={"kid": "k1"})
            for _ in range(3):
                assert await status_of(api, first) == EXPECTED[Role.ADMIN]
            assert jwks.fetches == 1  # fetched once, then kept
            # The issuer rotates: a token with the new kid makes us fetch again (kids we do
            # not hold fetch at most once a second).
            jwks.publish("k2", OTHER_RSA_KEY)
            await asyncio.sleep(1.05)
            second = token(OTHER_RSA_KEY, roles=["viewer"], headers={"kid": "k2"})
            assert await status_of(api, second) == EXPECTED[Role.VIEWER]
            assert jwks.fetches == 2
            # A kid the issuer does not publish is refused, and looked for once only.
            await asyncio.sleep(1.05)
            forged = token(OTHER_RSA_KEY, roles=["admin"], headers={"kid": "k9"})
            for _ in range(3):
                response = await api.client.get("/v1/stats", headers=bearer(forged))
                assert "k9" in refused(response, 401, "unauthorized")
            assert jwks.fetches == 3
            # The right kid with the wrong key's signature.
            wrong = token(OTHER_RSA_KEY, roles=["admin"], headers={"kid": "k1"})
            response = await api.client.get("/v1/stats", headers=bearer(wrong))
            assert "signature" in refused(response, 401, "unauthorized")


@pytest.mark.settings(**PEM_SETTINGS, jwt_leeway=0)
async def test_a_remembered_token_still_stops_at_its_expiry(api: Api) -> None:
    raw = token(roles=["viewer"], exp=int(time.time()) + 2)
    for _ in range(3):  # verified once, then remembered
        assert (await api.client.get("/v1/stats", headers=bearer(raw))).status_code == 200
    await asyncio.sleep(
        max(0.0, jwt.decode(raw, options={"verify_signature": False})["exp"] - time.time()) + 1.1
    )
    response = await api.client.get("/v1/stats", headers=bearer(raw))
    assert "expired" in refused(response, 401, "unauthorized")
