"""Helpers for console tests: sign in through the form, read the CSRF token off a page."""

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign in with `key`; returns the session's CSRF token."""
    page = await client.get("/login")
    response = await client.post(
        "/login", data={"api_key": key, "csrf_token": csrf_of(page.text), "next": "/"}
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/pay")).text)
