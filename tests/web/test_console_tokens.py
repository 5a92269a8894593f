"""Console sign-in with an OIDC token: the token's role, and no session past its expiry."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from riskops.auth.models import ConsoleSession
from riskops.auth.roles import Role
from riskops.db.base import table_of
from tests.auth.test_tokens import PEM_SETTINGS, token
from tests.conftest import Api
from tests.web.console import csrf_of, sign_in

pytestmark = pytest.mark.settings(**PEM_SETTINGS)
sessions = table_of(ConsoleSession)


async def test_a_token_signs_in_with_its_role_and_name(api: Api) -> None:
    page = await api.client.get("/login")
    assert "API key or sign-in token" in page.text
    csrf = await sign_in(api.client, token(roles=["analyst"], name="Dana Reyes"))
    dashboard = await api.client.get("/")
    assert dashboard.status_code == 200
    assert "Dana Reyes · analyst" in dashboard.text
    # The analyst's role acts in the console: a payment is submitted and decided.
    pay = await api.client.get("/pay")
    assert pay.status_code == 200
    async with api.runtime.engine.connect() as connection:
        row = (await connection.execute(select(sessions))).one()
    assert (row.key_id, row.subject, row.role) == (None, "oidc:user-7", "analyst")
    # Signing out ends it like a key's session.
    assert (await api.client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    assert (await api.client.get("/")).status_code == 303


async def test_the_session_ends_when_the_token_does(api: Api) -> None:
    expires = int(time.time()) + 120  # well inside the session's maximum age
    await sign_in(api.client, token(roles="viewer", exp=expires))
    async with api.runtime.engine.connect() as connection:
        row = (await connection.execute(select(sessions.c.expires_at))).one()
    assert row.expires_at == datetime.fromtimestamp(expires, UTC)
    async with api.runtime.engine.begin() as connection:
        await connection.execute(sessions.update().values(expires_at=datetime.now(UTC)))
    assert (await api.client.get("/")).status_code == 303


async def test_bad_tokens_are_refused_on_the_form_and_open_nothing(api: Api) -> None:
    page = await api.client.get("/login")
    csrf = csrf_of(page.text)
    expired = await api.client.post(
        "/login",
        data={"api_key": token(roles="admin", exp=int(time.time()) - 3600), "csrf_token": csrf},
    )
    assert expired.status_code == 401
    assert "the bearer token has expired" in expired.text
    no_role = await api.client.post(
        "/login", data={"api_key": token(roles=["offline_access"]), "csrf_token": csrf}
    )
    assert no_role.status_code == 403
    assert "names no known role" in no_role.text
    assert (await api.client.get("/")).status_code == 303
    async with api.runtime.engine.connect() as connection:
        assert (await connection.execute(select(sessions))).first() is None


async def test_api_keys_still_sign_in_beside_tokens(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.APPROVER])
    assert "test approver · approver" in (await api.client.get("/")).text
