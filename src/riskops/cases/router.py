"""HTTP for the review queue: list, read, open, claim, annotate, dispose and reopen cases."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, WriteConnection, require
from riskops.api.params import Cursor
from riskops.api.ports import Runtime
from riskops.api.responses import ERRORS, json_response
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.cases import quality, service
from riskops.cases.repository import CaseFilter
from riskops.cases.schemas import (
    AssignRequest,
    CaseCreate,
    CaseDetail,
    CaseOut,
    CasePage,
    CaseSort,
    CaseStatus,
    DispositionCreate,
    NoteCreate,
    NoteOut,
)
from riskops.cases.service import CasePolicy
from riskops.core.payment import Channel
from riskops.db.types import utcnow

router = APIRouter(prefix="/v1", tags=["cases"])
Analyst = Annotated[Principal, Depends(require(Capability.WORK_CASES))]


AMOUNT_MAX = 10**12  # a payment's own bound (decisions/requests.py)
AGE_HOURS_MAX = 24 * 366 * 10  # ten years: older cases are not in a queue


def policy(runtime: Runtime) -> CasePolicy:
    return CasePolicy(runtime.settings.case_join_window, runtime.settings.case_sla)


@router.get("/cases", response_model=CasePage, responses=ERRORS)
async def list_cases(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    status: CaseStatus | None = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    reason_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = None,
    min_amount: Annotated[int | None, Query(ge=0, le=AMOUNT_MAX, description="Minor units")] = None,
    max_amount: Annotated[int | None, Query(ge=0, le=AMOUNT_MAX, description="Minor units")] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    channel: Channel | None = None,
    min_age_hours: Annotated[float | None, Query(ge=0, le=AGE_HOURS_MAX)] = None,
    max_age_hours: Annotated[float | None, Query(ge=0, le=AGE_HOURS_MAX)] = None,
    sort: CaseSort = CaseSort.PRIORITY,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Cursor = None,
) -> Response:
    """The review queue, filtered, by priority (score x amount) or age, a keyset page at a time."""
    now = utcnow()
    where = CaseFilter(
        status=status.value if status else None,
        assignee=assignee,
        reason_code=reason_code,
        min_amount=min_amount,
        max_amount=max_amount,
        country=country,
        channel=channel.value if channel else None,
        opened_before=now - timedelta(hours=min_age_hours) if min_age_hours is not None else None,
        opened_after=now - timedelta(hours=max_age_hours) if max_age_hours is not None else None,
    )
    items, next_cursor = await service.list_cases(
        connection, where, sort, min(limit, runtime.settings.page_size_max), cursor
    )
    return json_response({"items": items, "next_cursor": next_cursor})


@router.post("/cases", status_code=201, response_model=CaseOut, responses=ERRORS)
async def open_case(
    body: CaseCreate, connection: WriteConnection, runtime: RuntimeDep, principal: Analyst
) -> Response:
    """Open a case by hand on any payment that is not in a case yet."""
    case = await service.open_manual(
        connection, body.transaction_id, body.reason, policy(runtime), principal.actor()
    )
    return json_response(case, 201)


@router.get("/cases/{case_id}", response_model=CaseDetail, responses=ERRORS)
async def get_case(case_id: str, connection: ReadConnection, _: Reader) -> Response:
    """A case with its payments, decisions, notes, dispositions, history and entity histories."""
    return json_response(await service.detail(connection, case_id))


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=ERRORS)
async def assign_case(
    case_id: str, body: AssignRequest, connection: WriteConnection, principal: Analyst
) -> Response:
    """Claim an open case (`"me"` for yourself); a case someone holds is a 409."""
    assignee = principal.key_id if body.assignee == "me" else body.assignee
    return json_response(await service.assign(connection, case_id, assignee, principal.actor()))


@router.post("/cases/{case_id}/notes", status_code=201, response_model=NoteOut, responses=ERRORS)
async def add_note(
    case_id: str, body: NoteCreate, connection: WriteConnection, principal: Analyst
) -> Response:
    """Add a note to a case."""
    return json_response(
        await service.add_note(connection, case_id, body.text, principal.actor()), 201
    )


@router.post("/cases/{case_id}/disposition", response_model=CaseOut, responses=ERRORS)
async def dispose_case(
    case_id: str,
    body: DispositionCreate,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: Analyst,
) -> Response:
    """Close a case: fraud_confirmed / legitimate label its payments; a closed case is a 409."""
    return json_response(
        await service.dispose(connection, case_id, body, principal.actor(), runtime.labels)
    )


@router.post("/cases/{case_id}/reopen", response_model=CaseOut, responses=ERRORS)
async def reopen_case(case_id: str, connection: WriteConnection, principal: Analyst) -> Response:
    """Reopen a closed case."""
    return json_response(await service.reopen(connection, case_id, principal.actor()))


@router.get("/quality", responses=ERRORS)
async def get_quality(
    connection: ReadConnection,
    _: Analyst,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24 * 7,
) -> Response:
    """Queue size, ageing, workload, time to disposition p50/p95, share of reviews confirmed
    fraud and recall by outcome over the last `hours`."""
    return json_response(await quality.figures(connection, utcnow(), timedelta(hours=hours)))
