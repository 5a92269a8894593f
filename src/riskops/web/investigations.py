"""The investigation panel of the case and transaction pages, as a fragment: the latest
investigation of the case or payment (evidence cards, the narrative with each citation
linked to its card, the recommendation), quick/deep run buttons, and "draft this rule"
opening the rules draft editor with the proposed rule added (web/rules.py). Loaded after the
page, so a page never waits for a run."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from riskops.api.deps import ReadConnection, WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.core.errors import BadRequest, RiskOpsError
from riskops.investigations import service
from riskops.investigations.schemas import ULID, InvestigationCreate, Mode
from riskops.web.cases import User
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
CITATION = re.compile(r"(\[[ES]\d+\])")
SubjectId = Annotated[str | None, Query(pattern=ULID)]
SUBJECTS = ("case_id", "transaction_id")  # what a console page investigates


def segments(text: str) -> list[tuple[str, str | None]]:
    """The narrative as (text, evidence id) pieces: the template links each citation to its
    card and escapes everything (no markup is built from stored text)."""
    return [
        (piece, piece[1:-1] if CITATION.fullmatch(piece) else None)
        for piece in CITATION.split(text)
        if piece
    ]


def _panel(
    request: Request,
    user: ConsoleUser,
    subject: tuple[str, str],
    found: dict[str, Any] | None,
    error: RiskOpsError | None = None,
) -> Response:
    narrative = (found or {}).get("narrative")
    context = {
        "subject_field": subject[0],
        "subject_id": subject[1],
        "inv": found,
        "narrative": segments(narrative["text"]) if narrative else [],
        "can_run": user.can(Capability.INVESTIGATE),
        "can_draft": user.can(Capability.DRAFT_RULES),
        "error": error,
    }
    return render(request, "_investigation.html", context, user)


@router.get("/investigations/panel", response_class=HTMLResponse)
async def panel(
    request: Request,
    user: User,
    connection: ReadConnection,
    case_id: SubjectId = None,
    transaction_id: SubjectId = None,
) -> Response:
    """The latest investigation of a case or a payment and the buttons to run another."""
    if case_id is not None:
        subject = ("case_id", case_id)
    elif transaction_id is not None:
        subject = ("transaction_id", transaction_id)
    else:
        return _panel(request, user, ("case_id", ""), None, BadRequest("name a case or payment"))
    items = await service.listed(connection, transaction_id, case_id)
    return _panel(request, user, subject, items[0] if items else None)


async def _form(request: Request, user: ConsoleUser, capability: Capability) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, read_session(request), form.get(CSRF_FIELD))
    permit(user.principal, capability)
    return form


@router.post("/investigations/run", response_class=HTMLResponse)
async def run(
    request: Request, user: User, reader: ReadConnection, connection: WriteConnection
) -> Response:
    """Run a quick or deep investigation of a case (the API's rules and audit)."""
    runtime: Runtime = request.app.state.runtime
    form = await _form(request, user, Capability.INVESTIGATE)
    field = form.get("subject", "")
    subject = (field if field in SUBJECTS else "case_id", form.get("subject_id", ""))
    if (
        field not in SUBJECTS
        or form.get("mode") not in {m.value for m in Mode}
        or not re.fullmatch(ULID, subject[1])
    ):
        return _panel(request, user, subject, None, BadRequest("choose quick or deep"))
    body = InvestigationCreate.model_validate(
        {field: subject[1], "mode": form["mode"], "include_rule_draft_preview": True}
    )
    try:
        found = await service.run(
            reader,
            runtime.similarity,
            body,
            user.principal.actor(),
            runtime.narrator,
            writer=connection,
        )
    except RiskOpsError as problem:
        return _panel(request, user, subject, None, problem)
    return _panel(request, user, subject, found)
