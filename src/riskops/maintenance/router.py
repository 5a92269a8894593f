"""HTTP for administrators: empty the data of a development install."""

from fastapi import APIRouter
from pydantic import BaseModel

from riskops.api.deps import Administrator, RuntimeDep
from riskops.api.responses import ERRORS
from riskops.core.errors import Forbidden
from riskops.db import transaction
from riskops.maintenance import service

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class ResetInProduction(Forbidden):
    code = "reset_refused_in_production"


class ResetOut(BaseModel):
    deleted: dict[str, int]
    audit_id: str


@router.post("/reset", response_model=ResetOut, responses=ERRORS)
async def reset(runtime: RuntimeDep, admin: Administrator) -> ResetOut:
    """Empty transactions, decisions, ledger, cases, labels and the other facts (development
    only); keys, sessions, the admin audit, rulesets, lists and jobs are kept."""
    if runtime.settings.environment != "development":
        raise ResetInProduction(
            "resetting the data is only allowed in the development environment",
            {"environment": runtime.settings.environment},
        )
    async with transaction(runtime.engine) as connection:
        report = await service.empty_facts(connection, admin.actor())
    # After the commit, so no decision in between re-fills a cache from rows being deleted.
    # Other processes (a separate worker) keep their own in-process state until restarted.
    runtime.pipeline.forget_accounts()
    await runtime.store.clear()
    runtime.similarity.index.clear()
    return ResetOut(deleted=report.deleted, audit_id=report.audit_id)
