"""Refuse malformed requests before any router sees them: NUL characters, non-JSON bodies.

One place for both, so every endpoint (and every engine) answers them the same way:
PostgreSQL refuses NUL in text, SQLite stores it, and a route-level check would be missed
by the next route.
"""

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from riskops.api.errors import error_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a `+json` suffix type, parameters (charset) ignored."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class InputGuard:
    """400 for a NUL in the path or query; 415 for an API body that is not JSON."""

    def __init__(self, app: ASGIApp, api_prefix: str = "/v1/") -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in(scope)
        if where is not None:
            response = error_response(
                400,
                "bad_request",
                f"the {where} contains a NUL character",
                {"in": where},
            )
            await response(scope, receive, send)
            return
        if scope["method"] in _BODY_METHODS and scope["path"].startswith(self.api_prefix):
            headers = dict(scope["headers"])
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            has_body = headers.get(b"content-length", b"0") != b"0" or (
                b"transfer-encoding" in headers
            )
            if has_body and content_type and not is_json_media_type(content_type):
                response = error_response(
                    415,
                    "unsupported_media_type",
                    "the request body must be JSON (Content-Type: application/json)",
                    {"content_type": content_type[:100]},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    if "\x00" in scope["path"] or b"%00" in scope.get("raw_path", b""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"\x00" in unquote_to_bytes(query):
        return "query"
    return None
