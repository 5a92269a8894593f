"""Policy: the score's thresholds give an outcome; rules may raise it, an allow list may lower it.

A review or decline rule never lowers what the score says: a payment the model scores at
decline level stays declined whatever review rule also hit. Only an approve override (an
allow-list rule) approves against the score, and the basis says so.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from riskops.core.outcome import Outcome
from riskops.rules.ruleset import RuleAction

__all__ = ["Basis", "Outcome", "Thresholds", "decide"]


class Basis(StrEnum):
    """What decided the outcome, so an analyst can tell a rule decision from a score one."""

    SCORE = "score"  # the score thresholds (no rule asked for more)
    RULE = "rule"  # a review or decline rule raised the outcome to its own (or matched it)
    OVERRIDE = "override"  # an approve-override rule (allow list) approved, whatever the score


@dataclass(frozen=True, slots=True)
class Thresholds:
    review: float
    decline: float

    def outcome(self, score: float) -> Outcome:
        if score >= self.decline:
            return Outcome.DECLINE
        if score >= self.review:
            return Outcome.REVIEW
        return Outcome.APPROVE


# The same orders as the enums' `strength`, as plain lookups: `decide` runs for every payment.
_ACTION = {action: action.strength for action in RuleAction}
_OUTCOME = {outcome: outcome.strength for outcome in Outcome}


def decide(
    actions: Iterable[RuleAction], score: float, thresholds: Thresholds
) -> tuple[Outcome, Basis]:
    """The strongest action (a max) against the score's outcome."""
    by_score = thresholds.outcome(score)
    strongest = max(actions, key=_ACTION.__getitem__, default=RuleAction.TAG)
    if strongest is RuleAction.APPROVE_OVERRIDE:
        return Outcome.APPROVE, Basis.OVERRIDE
    asked = strongest.outcome
    if asked is None or _OUTCOME[asked] < _OUTCOME[by_score]:
        return by_score, Basis.SCORE
    return asked, Basis.RULE
