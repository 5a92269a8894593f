"""The recommendation tool: one action from a fixed set, with confidence, the evidence it rests
on and why; policy constraints applied last, each one that changed the answer explained.

A recommendation changes nothing by itself: an analyst acts on it.
"""

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from riskops.core.outcome import Outcome
from riskops.investigations.tools.context import Context
from riskops.investigations.tools.patterns import Pattern
from riskops.investigations.tools.similar import SimilarCases

STRONG = 0.7  # a pattern this strong acts on its own
SUSPICIOUS = 0.4  # weaker ones still warrant a person's look


class Action(StrEnum):
    APPROVE = Outcome.APPROVE.value
    DECLINE = Outcome.DECLINE.value
    ESCALATE = "escalate"
    BLOCK_CARD = "block_card"
    WATCH_LIST_ENTITY = "watch_list_entity"
    DRAFT_RULE = "draft_rule"


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: Action
    confidence: float
    evidence_ids: list[str]
    explanation: str
    entity: dict[str, str] | None = None  # what block/watch-list/draft acts on
    constraints: list[str] = field(default_factory=list)  # policy that changed the answer

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# What each pattern, when strong, suggests doing about it.
ACTION_OF = {
    "card_testing": Action.BLOCK_CARD,
    "velocity": Action.ESCALATE,
    "new_device_or_country_high_amount": Action.ESCALATE,
    "merchant_confirmed_fraud": Action.DRAFT_RULE,
    "linked_entities": Action.WATCH_LIST_ENTITY,
    # One physical card in two far countries at once: a counterfeit copy is likely in use.
    "impossible_travel": Action.BLOCK_CARD,
}


def propose(
    context: Context, patterns: list[Pattern], similar: SimilarCases | None
) -> Recommendation:
    """The unconstrained proposal, from the strongest signal."""
    if context.block_hits:
        ids = sorted(
            {ref for key in context.refs if key.startswith("block:") for ref in [context.refs[key]]}
        )
        return Recommendation(
            Action.DECLINE,
            0.95,
            ids,
            f"the payment matches block list(s) {', '.join(context.block_hits)}",
        )
    strongest = patterns[0] if patterns else None
    if strongest is not None and strongest.strength >= STRONG:
        action = ACTION_OF[strongest.name]
        if action is Action.BLOCK_CARD and strongest.entity["kind"] != "card":
            action = Action.ESCALATE  # blocking needs a card; for an account a person looks
        return Recommendation(
            action,
            round(strongest.strength, 3),
            strongest.evidence_ids,
            f"strongest pattern {strongest.name}: {strongest.explanation}",
            strongest.entity,
        )
    if strongest is not None and strongest.strength >= SUSPICIOUS:
        return Recommendation(
            Action.ESCALATE,
            round(strongest.strength, 3),
            strongest.evidence_ids,
            f"pattern {strongest.name} is suspicious but not conclusive: {strongest.explanation}",
        )
    score = float(context.transaction["decision"]["score"])
    return Recommendation(
        Action.APPROVE,
        round(max(0.5, 1 - score), 3),
        context.ref("decision") + context.ref("history:card"),
        f"no pattern found and the model score is {score:.2f}",
    )


def constrain(
    proposal: Recommendation, context: Context, similar: SimilarCases | None
) -> Recommendation:
    """Policy: never approve over a block-list hit or a confirmed-fraud neighbour majority."""
    if proposal.action is not Action.APPROVE:
        return proposal
    if context.block_hits:
        ids = [context.refs[k] for k in context.refs if k.startswith("block:")]
        return Recommendation(
            Action.DECLINE,
            0.95,
            sorted(set(ids)),
            "approval is not allowed over a block-list hit",
            constraints=["never approve over a block-list hit"],
        )
    if similar is not None and similar.fraud_majority and similar.summary_id:
        return Recommendation(
            Action.ESCALATE,
            round(similar.fraud_share or 0.0, 3),
            [similar.summary_id],
            f"{similar.fraud} of {similar.labelled} labelled similar payments are fraud: "
            "a person decides",
            constraints=["never approve over a confirmed-fraud neighbour majority"],
        )
    return proposal


def recommend(
    context: Context, patterns: list[Pattern], similar: SimilarCases | None
) -> Recommendation:
    return constrain(propose(context, patterns, similar), context, similar)
