"""The worker's own HTTP endpoint: `/metrics` (and `/health`) of the `riskops worker` process.

The worker updates series the API process never sees: the outbox backlog, consumer lag and
dead letters (relay and consumers), PSI per feature (drift job), the case queue. Each process
has its own Prometheus registry, so Prometheus scrapes the worker too. The endpoint is the
API's: the same `/metrics` route behind the same API-key check (a viewer key is enough, so
one scrape credential serves both jobs), with the same error shape and request ids; only
those routes, on their own port (`RISKOPS_WORKER_METRICS_PORT`, 0: no endpoint).

It runs on the worker's event loop (uvicorn without its signal handling: the worker owns
SIGTERM/SIGINT), on a socket bound before the worker reports itself started, so a port
already in use stops the worker with a clear error instead of a silent gap in the graphs.
"""

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from riskops.api import deps, errors, health
from riskops.api.ports import Runtime
from riskops.api.request_ids import RequestIds
from riskops.core.background import finish
from riskops.observability.metrics import router as metrics_router

log = logging.getLogger(__name__)
STOP_DEADLINE_SECONDS = 2  # a scrape in flight is short; the next one goes elsewhere


def metrics_app(runtime: Runtime) -> FastAPI:
    """`/metrics` (API key, any role) and `/health`, `/ready` (none) of this process."""
    app = FastAPI(title="RiskOps worker", openapi_url=None, docs_url=None, redoc_url=None)
    deps.provide(app, runtime)
    errors.install(app)
    app.add_middleware(RequestIds)
    app.include_router(health.router)
    app.include_router(metrics_router)
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn on a loop it does not own: the worker handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsEndpoint:
    """Serves `metrics_app(runtime)` on host:port from start() until stop()."""

    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self.runtime = runtime
        self.host = host
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Bound here (not by uvicorn, which exits the process on a bind error): an address in
        # use raises OSError to the caller.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])  # port 0 in tests: the one the system chose
        config = uvicorn.Config(
            metrics_app(self.runtime),
            lifespan="off",
            access_log=False,
            log_config=None,  # the worker's logging configuration applies
            timeout_graceful_shutdown=STOP_DEADLINE_SECONDS,
        )
        server = self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="worker.metrics")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the metrics endpoint stopped while starting")
            await asyncio.sleep(0.01)
        log.info("worker metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        await finish([task], deadline=STOP_DEADLINE_SECONDS + 1.0)
