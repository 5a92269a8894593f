"""HTTP for investigations: run one, read one, list them, hand a proposed rule to drafts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, WriteConnection, require
from riskops.api.responses import ERRORS, json_response
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.investigations import service
from riskops.investigations.schemas import (
    ULID,
    InvestigationCreate,
    InvestigationOut,
    InvestigationPage,
)
from riskops.rulesets.schemas import Draft

router = APIRouter(prefix="/v1", tags=["investigations"])
Investigator = Annotated[Principal, Depends(require(Capability.INVESTIGATE))]
RuleDrafter = Annotated[Principal, Depends(require(Capability.DRAFT_RULES))]
InvestigationId = Annotated[str, Path(pattern=ULID)]
QueryId = Annotated[str | None, Query(pattern=ULID)]


@router.post("/investigations", status_code=201, response_model=InvestigationOut, responses=ERRORS)
async def run_investigation(
    body: InvestigationCreate,
    reader: ReadConnection,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: Investigator,
) -> Response:
    """Investigate a payment, a case or an entity: evidence, patterns, similar past payments
    (deep), a recommendation within policy, a cited narrative and the step trace."""
    found = await service.run(
        reader, runtime.similarity, body, principal.actor(), runtime.narrator, writer=connection
    )
    return json_response(found, 201)


@router.get("/investigations", response_model=InvestigationPage, responses=ERRORS)
async def list_investigations(
    connection: ReadConnection,
    _: Reader,
    transaction_id: QueryId = None,
    case_id: QueryId = None,
) -> Response:
    """Investigations of a payment or a case, newest first."""
    return json_response({"items": await service.listed(connection, transaction_id, case_id)})


@router.get("/investigations/{investigation_id}", response_model=InvestigationOut, responses=ERRORS)
async def get_investigation(
    investigation_id: InvestigationId, connection: ReadConnection, _: Reader
) -> Response:
    """One investigation with its findings and step trace."""
    return json_response(await service.get(connection, investigation_id))


@router.post(
    "/investigations/{investigation_id}/rule-draft",
    status_code=201,
    response_model=Draft,
    responses=ERRORS,
)
async def draft_rule(
    investigation_id: InvestigationId, connection: WriteConnection, principal: RuleDrafter
) -> Response:
    """Turn the investigation's proposed rule into a ruleset draft (another person approves)."""
    return json_response(await service.draft_rule(connection, principal, investigation_id), 201)
