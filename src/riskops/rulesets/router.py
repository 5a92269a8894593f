"""HTTP for rulesets: versions, drafts, the four-eyes workflow and backtests."""

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, WriteConnection, require
from riskops.api.responses import ERRORS
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.decisions.policy import Thresholds
from riskops.rulesets import service
from riskops.rulesets.backtest import run_backtest
from riskops.rulesets.schemas import (
    BacktestRequest,
    Draft,
    DraftCreate,
    DraftList,
    DraftUpdate,
    JobAccepted,
    Rejection,
    ValidationRequest,
    ValidationResult,
    Version,
    VersionList,
)
from riskops.rulesets.validation import problems

router = APIRouter(prefix="/v1/rulesets", tags=["rulesets"])
Drafter = Annotated[Principal, Depends(require(Capability.DRAFT_RULES))]
Approver = Annotated[Principal, Depends(require(Capability.APPROVE_RULES))]
DraftStatus = Literal["draft", "pending_approval", "approved", "rejected"]


def version_document(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "rule_count": len(row["rules"])}


@router.get("", response_model=VersionList, responses=ERRORS)
async def list_versions(connection: ReadConnection, _: Reader) -> dict[str, Any]:
    """Every version, newest first, with author, approver, times and status."""
    rows = await service.list_versions(connection)
    return {"items": [version_document(row) for row in rows]}


@router.get("/active", response_model=Version, responses=ERRORS)
async def active_version(connection: ReadConnection, _: Reader) -> dict[str, Any]:
    """The version every API process decides with (within a second of its approval)."""
    return version_document(await service.active_version(connection))


@router.post("/validate", response_model=ValidationResult, responses=ERRORS)
async def validate(
    body: ValidationRequest, connection: ReadConnection, _: Reader
) -> dict[str, Any]:
    """Check a candidate ruleset without saving it: every problem, by rule id."""
    found = problems(body.rules, await service.list_names(connection))
    return {"valid": not found, "errors": found}


@router.get("/drafts", response_model=DraftList, responses=ERRORS)
async def list_drafts(
    connection: ReadConnection, _: Reader, status: DraftStatus | None = None
) -> dict[str, Any]:
    """Drafts, most recently changed first, optionally of one status."""
    return {"items": await service.list_drafts(connection, status)}


@router.post("/drafts", response_model=Draft, status_code=201, responses=ERRORS)
async def create_draft(
    body: DraftCreate, connection: WriteConnection, principal: Drafter
) -> dict[str, Any]:
    """A draft of a whole candidate ruleset (or an earlier version: a rollback), with its diff."""
    return await service.create_draft(
        connection,
        principal,
        rules=body.rules,
        base_version=body.base_version,
        from_version=body.from_version,
        comment=body.comment,
    )


@router.get("/drafts/{draft_id}", response_model=Draft, responses=ERRORS)
async def get_draft(draft_id: str, connection: ReadConnection, _: Reader) -> dict[str, Any]:
    """One draft with its diff and its latest backtest."""
    return await service.get_draft(connection, draft_id)


@router.put("/drafts/{draft_id}", response_model=Draft, responses=ERRORS)
async def update_draft(
    draft_id: str, body: DraftUpdate, connection: WriteConnection, principal: Drafter
) -> dict[str, Any]:
    """Replace a draft's rules (its author, while it is a draft); the backtest is cleared."""
    return await service.update_draft(
        connection,
        principal,
        draft_id,
        rules=body.rules,
        base_version=body.base_version,
        comment=body.comment,
    )


@router.post("/drafts/{draft_id}/submit", response_model=Draft, responses=ERRORS)
async def submit_draft(
    draft_id: str, connection: WriteConnection, principal: Drafter
) -> dict[str, Any]:
    """Ask for approval (the author): the draft becomes pending_approval."""
    return await service.submit(connection, principal, draft_id)


@router.post("/drafts/{draft_id}/approve", response_model=Draft, responses=ERRORS)
async def approve_draft(
    draft_id: str, connection: WriteConnection, principal: Approver
) -> dict[str, Any]:
    """Approve someone else's draft: it becomes the next version, active at once."""
    return await service.approve(connection, principal, draft_id)


@router.post("/drafts/{draft_id}/reject", response_model=Draft, responses=ERRORS)
async def reject_draft(
    draft_id: str, body: Rejection, connection: WriteConnection, principal: Approver
) -> dict[str, Any]:
    """Send someone else's draft back, with the reason."""
    return await service.reject(connection, principal, draft_id, body.reason)


@router.post(
    "/drafts/{draft_id}/backtest", response_model=JobAccepted, status_code=202, responses=ERRORS
)
async def backtest_draft(
    draft_id: str,
    body: BacktestRequest,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: Drafter,
    tasks: BackgroundTasks,
) -> dict[str, Any]:
    """Replay the draft and the active version over stored decisions in [from, to): a job."""
    job = await service.request_backtest(connection, principal, draft_id, body.start, body.end)
    settings = runtime.settings
    thresholds = Thresholds(review=settings.review_threshold, decline=settings.decline_threshold)
    work = partial(run_backtest, runtime.engine, draft_id, body.start, body.end, thresholds)
    # Started after the response, so after the commit: the job's row exists when it runs.
    tasks.add_task(runtime.jobs.run, job["id"], work)
    return {"job_id": job["id"]}


@router.get("/{version}", response_model=Version, responses=ERRORS)
async def get_version(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], connection: ReadConnection, _: Reader
) -> dict[str, Any]:
    """One version with its rules, in the shape a draft takes."""
    return version_document(await service.get_version(connection, version))
