"""Policy and the rules-only score: small pure functions, table tests."""

import pytest

from riskops.decisions.policy import Basis, Outcome, Thresholds, decide
from riskops.decisions.scoring import rules_only_score

THRESHOLDS = Thresholds(review=0.5, decline=0.85)


@pytest.mark.parametrize(
    ("actions", "score", "outcome", "basis"),
    [
        ([], 0.0, Outcome.APPROVE, Basis.SCORE),
        ([], 0.49, Outcome.APPROVE, Basis.SCORE),
        ([], 0.5, Outcome.REVIEW, Basis.SCORE),
        ([], 0.85, Outcome.DECLINE, Basis.SCORE),
        (["tag"], 0.2, Outcome.APPROVE, Basis.SCORE),
        (["tag", "tag"], 0.9, Outcome.DECLINE, Basis.SCORE),
        (["review"], 0.0, Outcome.REVIEW, Basis.RULE),
        (["decline", "review"], 0.0, Outcome.DECLINE, Basis.RULE),
        (["review", "decline", "approve_override"], 0.0, Outcome.DECLINE, Basis.RULE),
        # An override beats the score, never a review or decline rule.
        (["approve_override"], 0.99, Outcome.APPROVE, Basis.RULE),
        (["approve_override", "review"], 0.1, Outcome.REVIEW, Basis.RULE),
        (["approve_override", "tag"], 0.9, Outcome.APPROVE, Basis.RULE),
    ],
)
def test_strongest_action_wins_else_thresholds(
    actions: list[str], score: float, outcome: Outcome, basis: Basis
) -> None:
    assert decide(actions, score, THRESHOLDS) == (outcome, basis)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([], 0.0),
        ([0.9], 0.9),
        ([0.5, 0.5], 0.75),
        ([0.15, 0.35], 0.4475),
        ([0.9, 0.9, 0.9], 0.999),
    ],
)
def test_rules_only_score_is_a_noisy_or(weights: list[float], expected: float) -> None:
    assert rules_only_score(weights) == pytest.approx(expected)
