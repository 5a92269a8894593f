"""Run an investigation: resolve the subject, gather context, find patterns and similar past
payments side by side, recommend within policy, narrate with citations, optionally propose a
rule; store the findings with the step trace and audit the run.

Functions take the caller's connection and never begin or commit.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.audit import service as audit
from riskops.audit.actions import Actor, AdminAction
from riskops.auth.service import Principal
from riskops.cases import service as cases
from riskops.core.errors import Conflict, NotFound
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.decisions import repository as decisions
from riskops.entities import service as entities
from riskops.investigations import repository, ruledraft
from riskops.investigations.metrics import (
    FETCH_DURATION,
    NARRATOR_FALLBACKS,
    RECOMMENDATION_FAILURES,
    RUN_DURATION,
    STEP_FAILURES,
)
from riskops.investigations.narrative import Findings, Narrator, TemplateNarrator, check
from riskops.investigations.schemas import InvestigationCreate, Mode
from riskops.investigations.tools import context as context_tool
from riskops.investigations.tools import patterns as pattern_tool
from riskops.investigations.tools import recommend as recommend_tool
from riskops.investigations.tools import similar as similar_tool
from riskops.investigations.tools.context import Context
from riskops.investigations.tools.patterns import Pattern
from riskops.investigations.tools.similar import SimilarCases
from riskops.investigations.trace import Trace, error_of
from riskops.similarity.service import Similarity

LIST_LIMIT = 50


class NoRuleToDraft(Conflict):
    code = "no_rule_to_draft"


def target(investigation_id: str) -> str:
    return f"investigation:{investigation_id}"


async def _subject(
    connection: AsyncConnection, request: InvestigationCreate
) -> tuple[dict[str, Any], str, str | None]:
    """What was asked about, the payment investigated and the case holding it; 404 if unknown."""
    if request.transaction_id is not None:
        if await decisions.get_transaction(connection, request.transaction_id) is None:
            raise NotFound(
                f"transaction {request.transaction_id} does not exist",
                {"transaction_id": request.transaction_id},
            )
        transaction_id = request.transaction_id
        return (
            {"transaction_id": transaction_id},
            transaction_id,
            await cases.case_of(connection, transaction_id),
        )
    if request.case_id is not None:
        case = await cases.get_case(connection, request.case_id)
        return {"case_id": request.case_id}, case["transaction_id"], request.case_id
    assert request.entity is not None
    kind, value = request.entity.kind, request.entity.id
    latest = await entities.recent(connection, kind, value, 1)
    if not latest:
        raise NotFound(f"no payments of {kind.value} {value}", {"kind": kind.value, "id": value})
    transaction_id = latest[0]["id"]
    return (
        {"entity": {"kind": kind.value, "id": value}},
        transaction_id,
        await cases.case_of(connection, transaction_id),
    )


async def _patterns(context: Context) -> list[Pattern]:
    return pattern_tool.detect(context)


@dataclass(frozen=True, slots=True)
class Told:
    text: str
    narrator: str  # who wrote it: the configured narrator, or the template it fell back to
    fallback_from: dict[str, Any] | None  # why the configured narrator's text was refused


async def _narrate(narrator: Narrator, findings: Findings) -> Told:
    """The narrator's text if every sentence cites known evidence; else the template's."""
    known = [e.id for e in findings.evidence]
    try:
        return Told(check(await narrator.narrate(findings), known), narrator.name, None)
    except Exception as error:  # any narrator may fail or make things up: fall back
        if isinstance(narrator, TemplateNarrator):
            raise
        template = TemplateNarrator()
        reason = error_of(error)
        NARRATOR_FALLBACKS.labels(reason["code"]).inc()
        return Told(check(template.text(findings), known), template.name, reason)


def _told(told: Told) -> dict[str, Any]:
    return {"chars": len(told.text), "narrator": told.narrator, "fallback_from": told.fallback_from}


def _pattern_outputs(found: list[Pattern]) -> dict[str, Any]:
    return {"patterns": [[p.name, round(p.strength, 3)] for p in found]}


def _similar_outputs(found: SimilarCases) -> dict[str, Any]:
    return {"neighbours": len(found.neighbours), "labelled": found.labelled, "fraud": found.fraud}


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value)


async def run(
    connection: AsyncConnection,
    similarity: Similarity,
    request: InvestigationCreate,
    actor: Actor,
    narrator: Narrator | None = None,
    *,
    writer: AsyncConnection | None = None,
) -> dict[str, Any]:
    """Investigate reading through `connection`; store and audit through `writer` (default:
    the same). Requests pass a read connection and their write transaction apart: the write
    transaction starts with the insert, so none is open while a narrator is asked over the
    network."""
    began = time.perf_counter()
    narrator = narrator or TemplateNarrator()
    subject, transaction_id, case_id = await _subject(connection, request)
    investigation_id = new_id()
    deep = request.mode is Mode.DEEP
    plan = ["context", "patterns", *(["similarity"] if deep else []), "recommendation"]
    plan += ["narrative", *(["rule_draft"] if request.include_rule_draft_preview else [])]
    trace = Trace(actor, plan)
    context = await trace.run(
        "context",
        {"transaction_id": transaction_id, "window_hours": 72},
        lambda: context_tool.gather(connection, context_tool.ContextInput(transaction_id)),
        lambda c: {"evidence": len(c.evidence), "block_hits": c.block_hits},
    )
    patterns: list[Pattern] = []
    similar: SimilarCases | None = None
    recommendation = None
    narrative = None
    preview = None
    if context is not None:
        ctx = context  # bound for the lambdas below

        # Independent: patterns read only the context, similarity reads the index.
        async def _similar() -> SimilarCases | None:
            if not deep:
                return None  # quick: context, patterns and recommendation only
            return await trace.run(
                "similarity",
                {"record_id": transaction_id, "k": similar_tool.NEIGHBOURS},
                lambda: similar_tool.find(
                    connection, similarity, similar_tool.SimilarInput(transaction_id)
                ),
                _similar_outputs,
            )

        async def _detect() -> list[Pattern] | None:
            found: list[Pattern] | None = await trace.run(
                "patterns",
                {"evidence": len(ctx.evidence)},
                lambda: _patterns(ctx),
                _pattern_outputs,
            )
            return found

        detected, similar = await asyncio.gather(_detect(), _similar())
        patterns = ps = detected or []

        async def _recommend() -> recommend_tool.Recommendation:
            return recommend_tool.recommend(ctx, ps, similar)

        recommendation = await trace.run(
            "recommendation",
            {"patterns": len(ps), "similar": similar is not None},
            _recommend,
            lambda r: {"action": r.action.value, "confidence": r.confidence},
        )
        findings = Findings(ctx, ps, similar, recommendation)

        narrative = await trace.run(
            "narrative", {"narrator": narrator.name}, lambda: _narrate(narrator, findings), _told
        )
        if request.include_rule_draft_preview:
            rule = ruledraft.propose(investigation_id, ps)

            async def _preview() -> dict[str, Any] | None:
                return None if rule is None else await ruledraft.preview(connection, rule)

            preview = await trace.run(
                "rule_draft",
                {"strongest": ps[0].name if ps else None},
                _preview,
                lambda p: {"rule_id": p["rule"]["id"], "valid": p["valid"]} if p else {},
            )
    evidence = (context.evidence if context else []) + (similar.evidence if similar else [])
    findings_doc = _jsonable(
        {
            "evidence": [e.as_dict() for e in evidence],
            "patterns": [p.as_dict() for p in patterns or []],
            "similar_cases": None
            if similar is None
            else {
                "neighbours": similar.neighbours,
                "labelled": similar.labelled,
                "fraud": similar.fraud,
                "fraud_share": similar.fraud_share,
                "fraud_majority": similar.fraud_majority,
            },
            "recommendation": recommendation.as_dict() if recommendation else None,
            "narrative": None
            if narrative is None
            else {"narrator": narrative.narrator, "text": narrative.text},
            "rule_draft_preview": preview,
            "plan": plan,
        }
    )
    row = {
        "id": investigation_id,
        "subject": subject,
        "transaction_id": transaction_id,
        "case_id": case_id,
        "mode": request.mode.value,
        "actor": actor.id,
        "actor_name": actor.name,
        "findings": findings_doc,
        "trace": _jsonable(trace.as_list()),
        "duration_ms": round((time.perf_counter() - began) * 1000, 3),
        "created_at": utcnow(),
    }
    writer = writer or connection
    await repository.insert_investigation(writer, row)
    for step in trace.steps:
        if step.error is not None:
            STEP_FAILURES.labels(step.name).inc()
    if recommendation is None:
        RECOMMENDATION_FAILURES.labels(request.mode.value).inc()
    RUN_DURATION.labels(request.mode.value).observe(row["duration_ms"] / 1000)
    await audit.record(
        writer,
        actor,
        AdminAction.INVESTIGATION_RUN,
        target(investigation_id),
        None,
        {
            **subject,
            "mode": request.mode.value,
            "recommendation": recommendation.action.value if recommendation else None,
        },
    )
    return view(row)


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "subject": row["subject"],
        "transaction_id": row["transaction_id"],
        "case_id": row["case_id"],
        "mode": row["mode"],
        "actor": row["actor"],
        "actor_name": row["actor_name"],
        "created_at": row["created_at"],
        "duration_ms": row["duration_ms"],
        **row["findings"],
        "trace": row["trace"],
    }


async def get(connection: AsyncConnection, investigation_id: str) -> dict[str, Any]:
    with FETCH_DURATION.time():
        row = await repository.get(connection, investigation_id)
    if row is None:
        raise NotFound(
            f"investigation {investigation_id} does not exist",
            {"investigation_id": investigation_id},
        )
    return view(row)


async def listed(
    connection: AsyncConnection, transaction_id: str | None, case_id: str | None
) -> list[dict[str, Any]]:
    return [
        view(r) for r in await repository.listed(connection, transaction_id, case_id, LIST_LIMIT)
    ]


async def proposed_rule(
    connection: AsyncConnection, investigation_id: str
) -> dict[str, Any] | None:
    """The rule the investigation proposes (its preview's, else derived from its patterns)."""
    found = await get(connection, investigation_id)
    preview = found.get("rule_draft_preview")
    rule: dict[str, Any] | None = preview["rule"] if preview else None
    if rule is None:
        rule = ruledraft.propose(investigation_id, [Pattern(**p) for p in found["patterns"]])
    return rule


async def draft_rule(
    connection: AsyncConnection, principal: Principal, investigation_id: str
) -> dict[str, Any]:
    """A ruleset draft with the investigation's proposed rule: 409 if it found no pattern a
    rule can express. The draft still needs another person's approval."""
    rule = await proposed_rule(connection, investigation_id)
    if rule is None:
        raise NoRuleToDraft(
            "the investigation found no pattern a rule can express",
            {"investigation_id": investigation_id},
        )
    draft = await ruledraft.hand_off(connection, principal, investigation_id, rule)
    await audit.record(
        connection,
        principal.actor(),
        AdminAction.INVESTIGATION_RULE_DRAFTED,
        target(investigation_id),
        None,
        {"draft_id": draft["id"], "rule_id": rule["id"]},
    )
    return draft
