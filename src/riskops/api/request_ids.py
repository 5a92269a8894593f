"""Request ids: `X-Request-ID` taken from the caller or made here, on every response and log line.

A caller's id is kept only if it is short and plain (letters, digits, `._:-`), because it
ends up in logs and error bodies; anything else is replaced, never echoed.
"""

import re
import secrets
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskops.core.context import current_request_id

HEADER: Final = b"x-request-id"
_PLAIN: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        raw = given if given is not None and _PLAIN.fullmatch(given) else None
        request_id = raw.decode() if raw is not None else secrets.token_hex(8)
        header = (HEADER, request_id.encode())

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = current_request_id.set(request_id)
        await self.app(scope, receive, with_id)
        # Not reset when the app raised: the crash handler runs outside this middleware (in
        # Starlette's outermost one) and must still log and answer with the id.
        current_request_id.reset(token)
