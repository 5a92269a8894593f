"""Browser-facing security headers on every response: CSP, framing, sniffing, referrer.

The console serves scripts and styles only from /static (no inline script, no CDN), so its
policy allows 'self' alone. Inline `style` attributes (bar widths) are allowed; inline
`<style>` and `<script>` elements are not. The interactive API docs load Swagger UI from a CDN
with an inline script: those few paths keep every header but the content policy.
"""

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())


class SecurityHeaders:
    """Appends the headers to each response start; the headers are built once, at startup."""

    def __init__(self, app: ASGIApp, exempt_from_csp: Iterable[str] = ()) -> None:
        self.app = app
        self.exempt = frozenset(exempt_from_csp)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = HEADERS if scope["path"] in self.exempt else (*HEADERS, CSP)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *(header for header in extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
