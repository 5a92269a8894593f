"""The application factory: settings in, a FastAPI app with every adapter wired out."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops import __version__
from riskops.api import errors, health
from riskops.api.limits import BodySizeLimit
from riskops.api.security import SecurityHeaders
from riskops.audit.router import router as audit_router
from riskops.auth import service as key_service
from riskops.auth.roles import Role
from riskops.auth.router import router as auth_router
from riskops.core.background import finish
from riskops.db.migrate import upgrade
from riskops.decisions.router import router as decisions_router
from riskops.events.router import router as events_router
from riskops.ledger.router import router as ledger_router
from riskops.ml.router import router as models_router
from riskops.ml.tasks import ModelTasks
from riskops.observability.metrics import router as metrics_router
from riskops.observability.metrics import watch_event_loop
from riskops.runtime import build_runtime
from riskops.settings import Settings
from riskops.web import install as install_console

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings)
        if settings.auto_migrate:
            await upgrade(runtime.engine)
        if settings.bootstrap_admin_key:
            await _first_admin_key(runtime.engine)
        app.state.runtime = runtime
        if settings.run_workers:  # the embedded default: relay and consumers in this process
            runtime.events.start()
        # Models load (and a first champion trains) in the background: /health answers now.
        model_tasks = ModelTasks(settings, runtime.engine, runtime.models)
        if settings.model_serving:
            app.state.model_tasks = model_tasks
            model_tasks.start()
        monitor = asyncio.create_task(watch_event_loop())
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight so full collections stay short on a busy loop.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await finish([monitor], deadline=0)
            await model_tasks.stop()
            await runtime.close()

    app = FastAPI(
        title="RiskOps",
        version=__version__,
        summary="Real-time transaction risk decisions with an auditable ledger.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, exempt_from_csp=[path for path in docs if path])
    for router in (health.router, decisions_router, ledger_router, auth_router, metrics_router):
        app.include_router(router)
    app.include_router(events_router)
    app.include_router(audit_router)
    app.include_router(models_router)
    install_console(app)
    return app


async def _first_admin_key(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if await key_service.count_keys(connection):
            return
        created = await key_service.create_key(connection, Role.ADMIN, "first admin")
    # Printed once, on purpose: only its hash is stored.
    print(
        "\n  RiskOps created the first admin API key (shown once, store it now):\n\n"
        f"    {created.plaintext}\n\n"
        "  Use it as `Authorization: Bearer <key>`; more keys: `riskops keys create --role ROLE`\n",
        flush=True,
    )
