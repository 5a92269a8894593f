"""The application factory: settings in, a FastAPI app with every adapter wired out."""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from riskops import __version__
from riskops.api import deps, errors, health
from riskops.api.guards import InputGuard
from riskops.api.limits import BodySizeLimit
from riskops.api.security import SecurityHeaders
from riskops.audit.router import router as audit_router
from riskops.auth.router import router as auth_router
from riskops.decisions.router import router as decisions_router
from riskops.events.router import router as events_router
from riskops.ledger.router import router as ledger_router
from riskops.ml.router import router as models_router
from riskops.observability.metrics import router as metrics_router
from riskops.runtime import build_runtime
from riskops.settings import Settings
from riskops.similarity.router import router as similarity_router
from riskops.web import install as install_console


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings)
        deps.provide(app, runtime)
        try:
            await runtime.start()
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="RiskOps",
        version=__version__,
        summary="Real-time transaction risk decisions with an auditable ledger.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(InputGuard)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, exempt_from_csp=[path for path in docs if path])
    for router in (health.router, decisions_router, ledger_router, auth_router, metrics_router):
        app.include_router(router)
    app.include_router(events_router)
    app.include_router(audit_router)
    # Before the models router: `/v1/records/nearest` must not be read as a record id.
    app.include_router(similarity_router)
    app.include_router(models_router)
    install_console(app)
    return app
