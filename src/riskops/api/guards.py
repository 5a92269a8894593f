"""Refuse malformed requests before any router sees them: NUL characters, non-JSON bodies.

One place for all of them, so every endpoint (and every engine) answers them the same way:
PostgreSQL refuses NUL in text and JSONB, SQLite stores it, and a route-level check would be
missed by the next route.
"""

import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskops.api.errors import error_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# `\u0000` in a JSON text, unless its backslash is itself escaped (`\\u0000` is not a NUL).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a `+json` suffix type, parameters (charset) ignored."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class InputGuard:
    """400 for a NUL in the path, query, a header or a JSON body; 415 for a non-JSON body."""

    def __init__(self, app: ASGIApp, api_prefix: str = "/v1/") -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in(scope)
        if where is not None:
            await _nul_refused(where)(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS or not scope["path"].startswith(self.api_prefix):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        if has_body and content_type and not is_json_media_type(content_type):
            response = error_response(
                415,
                "unsupported_media_type",
                "the request body must be JSON (Content-Type: application/json)",
                {"content_type": content_type[:100]},
            )
            await response(scope, receive, send)
            return
        # Read the body first (bounded: BodySizeLimit runs outside this), then hand it on.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(message, receive), send)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if b"\\u0000" in body and _JSON_NUL.search(body):
            await _nul_refused("body")(scope, receive, send)
            return
        whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that answers `first` once, then whatever the client sends next."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _nul_refused(where: str) -> ASGIApp:
    return error_response(
        400, "bad_request", f"the {where} contains a NUL character", {"in": where}
    )


def _nul_in(scope: Scope) -> str | None:
    if "\x00" in scope["path"] or b"%00" in scope.get("raw_path", b""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"\x00" in unquote_to_bytes(query):
        return "query"
    # HTTP servers refuse NUL in headers; in-process transports and proxies may not.
    if any(b"\x00" in value for _, value in scope["headers"]):
        return "header"
    return None
