"""Dashboard parts that refresh themselves: stats, charts, and the live feed (SSE)."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from riskops.api.ports import Runtime
from riskops.core.errors import BadRequest
from riskops.decisions import service as decisions
from riskops.web.session import ConsoleUser, viewer
from riskops.web.templating import render, templates

router = APIRouter(prefix="/console", include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
HEARTBEAT_SECONDS = 15.0
# A stream ends after a while and the browser reconnects by itself: an open stream would
# otherwise hold a server's graceful shutdown until the tab closes.
STREAM_SECONDS = 60.0


@router.get("/stats", response_class=HTMLResponse)
async def stats(request: Request, user: User) -> Response:
    """The dashboard's numbers (polled)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.engine.connect() as connection:
        found = await decisions.dashboard_stats(connection)
    return render(request, "_stats.html", {"stats": found}, user)


@router.get("/timeline", response_class=HTMLResponse)
async def timeline(request: Request, user: User, window: str = "24h") -> Response:
    """The dashboard's charts for the last hour (per minute) or day (per hour)."""
    chosen = decisions.WINDOWS.get(window)
    if chosen is None:
        raise BadRequest(
            f"window must be one of {', '.join(decisions.WINDOWS)}", {"field": "window"}
        )
    runtime: Runtime = request.app.state.runtime
    async with runtime.engine.connect() as connection:
        buckets = await decisions.timeline(connection, chosen)
    return render(request, "_charts.html", {"timeline": buckets, "window": window}, user)


def _event(name: str, html: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {name}\n{lines}\n".encode()


@router.get("/feed")
async def feed(request: Request, user: User) -> StreamingResponse:
    """Decisions as they are stored, as server-sent events carrying table rows."""
    runtime: Runtime = request.app.state.runtime
    row = templates.get_template("_feed_row.html")

    async def stream() -> AsyncIterator[bytes]:
        deadline = time.monotonic() + STREAM_SECONDS
        yield b"retry: 2000\n: connected\n\n"
        async for document in runtime.pipeline.feed.listen(HEARTBEAT_SECONDS):
            if document is None:
                yield b": heartbeat\n\n"
            else:
                yield _event("decision", row.render(t=document, fresh=True))
            if time.monotonic() > deadline or await request.is_disconnected():
                return
            await asyncio.sleep(0)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
