"""The application factory: settings in, a FastAPI app with every adapter wired out."""

import contextlib
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI

from riskops import __version__
from riskops.api import deps, errors, health
from riskops.api.guards import InputGuard
from riskops.api.limits import BodySizeLimit
from riskops.api.request_ids import RequestIds
from riskops.api.security import SecurityHeaders
from riskops.audit.router import router as audit_router
from riskops.auth.router import router as auth_router
from riskops.cases.router import router as cases_router
from riskops.decisions.router import router as decisions_router
from riskops.entities.router import router as entities_router
from riskops.events.router import router as events_router
from riskops.investigations.router import router as investigations_router
from riskops.jobs.router import router as jobs_router
from riskops.labels.router import router as labels_router
from riskops.ledger.router import router as ledger_router
from riskops.lists.router import router as lists_router
from riskops.maintenance.router import router as maintenance_router
from riskops.ml.router import router as models_router
from riskops.observability import tracing
from riskops.observability.metrics import router as metrics_router
from riskops.processes.placement import ProcessRole
from riskops.processes.supervisor import WorkerSupervisor
from riskops.recommendations.router import router as recommendations_router
from riskops.rulesets.router import router as rulesets_router
from riskops.runtime import build_runtime
from riskops.settings import Settings
from riskops.similarity.router import router as similarity_router
from riskops.web import install as install_console


def create_app(
    settings: Settings | None = None,
    role: ProcessRole = ProcessRole.ALL,
    worker: Sequence[str] | None = None,
) -> FastAPI:
    """The app of a process of `role`; with a `worker` command, the API supervises that worker
    process beside it (started once the schema is migrated, stopped before the API closes)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, role=role)
        deps.provide(app, runtime)
        supervisor = WorkerSupervisor(worker) if worker else None
        app.state.supervisor = supervisor
        try:
            await runtime.start()
            if supervisor is not None:
                supervisor.start()
            yield
        finally:
            if supervisor is not None:
                await supervisor.stop()
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
    app.add_middleware(RequestIds)  # outermost: every response and error carries the id
    for router in (health.router, decisions_router, ledger_router, auth_router, metrics_router):
        app.include_router(router)
    app.include_router(events_router)
    app.include_router(audit_router)
    # Before the models router: `/v1/records/nearest` must not be read as a record id.
    app.include_router(similarity_router)
    app.include_router(models_router)
    app.include_router(lists_router)
    app.include_router(rulesets_router)
    app.include_router(jobs_router)
    app.include_router(maintenance_router)
    for router in (cases_router, labels_router, entities_router, investigations_router):
        app.include_router(router)
    app.include_router(recommendations_router)
    install_console(app)
    if settings.tracing:
        tracing.configure(app)
    return app
