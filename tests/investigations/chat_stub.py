"""A local stand-in for an OpenAI-compatible chat completions API: a real HTTP server (uvicorn
on a free port, in the test's event loop) whose answer each test scripts, keeping every
request it received."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    delay_seconds: float = 0.0


def completion(text: str) -> Reply:
    """A well-formed chat completion whose one choice says `text`."""
    document = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": "stub-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
    }
    return Reply(200, orjson.dumps(document))


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        document: dict[str, Any] = orjson.loads(self.raw)
        return document


@dataclass
class StubChatApi:
    url: str  # the API base a narrator is configured with
    reply: Reply = field(default_factory=lambda: completion("A payment [E1]."))
    received: list[Received] = field(default_factory=list)

    async def chat(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body()))
        if self.reply.delay_seconds:
            await asyncio.sleep(self.reply.delay_seconds)
        return Response(self.reply.body, self.reply.status, media_type="application/json")


@contextlib.asynccontextmanager
async def stub_chat_api() -> AsyncIterator[StubChatApi]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stub = StubChatApi(f"http://127.0.0.1:{port}/v1")
    app = Starlette(routes=[Route("/v1/chat/completions", stub.chat, methods=["POST"])])
    # log_config=None: leave the logging of the process (and of the tests) as it is.
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield stub
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await serving
        listener.close()
