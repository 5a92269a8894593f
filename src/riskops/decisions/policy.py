"""Policy: rule actions first (the strongest wins), otherwise score thresholds."""

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class Basis(StrEnum):
    """Why the outcome is what it is, so an analyst can tell a rule decision from a score one."""

    RULE = "rule"
    SCORE = "score"


# Rule actions in increasing strength: combining hits is a max over this order.
# A tag only annotates; an approve override beats the score but never a review or decline rule.
ACTION_STRENGTH = {"tag": 0, "approve_override": 1, "review": 2, "decline": 3}
ACTION_OUTCOME = {
    "approve_override": Outcome.APPROVE,
    "review": Outcome.REVIEW,
    "decline": Outcome.DECLINE,
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    review: float
    decline: float


def decide(actions: list[str], score: float, thresholds: Thresholds) -> tuple[Outcome, Basis]:
    strongest = max(actions, key=ACTION_STRENGTH.__getitem__, default="tag")
    if strongest in ACTION_OUTCOME:
        return ACTION_OUTCOME[strongest], Basis.RULE
    if score >= thresholds.decline:
        return Outcome.DECLINE, Basis.SCORE
    if score >= thresholds.review:
        return Outcome.REVIEW, Basis.SCORE
    return Outcome.APPROVE, Basis.SCORE
