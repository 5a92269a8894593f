"""Policy and the rules-only score: small pure functions, table tests."""

import pytest

from riskops.decisions.policy import Basis, Outcome, Thresholds, decide
from riskops.decisions.scoring import rules_only_score
from riskops.rules import RuleAction

THRESHOLDS = Thresholds(review=0.5, decline=0.85)
TAG, OVERRIDE = RuleAction.TAG, RuleAction.APPROVE_OVERRIDE
REVIEW, DECLINE = RuleAction.REVIEW, RuleAction.DECLINE


@pytest.mark.parametrize(
    ("actions", "score", "outcome", "basis"),
    [
        ([], 0.0, Outcome.APPROVE, Basis.SCORE),
        ([], 0.49, Outcome.APPROVE, Basis.SCORE),
        ([], 0.5, Outcome.REVIEW, Basis.SCORE),
        ([], 0.85, Outcome.DECLINE, Basis.SCORE),
        ([TAG], 0.2, Outcome.APPROVE, Basis.SCORE),
        ([TAG, TAG], 0.9, Outcome.DECLINE, Basis.SCORE),
        # A rule raises the outcome to its own; at the score's own level it is still the rule's.
        ([REVIEW], 0.0, Outcome.REVIEW, Basis.RULE),
        ([REVIEW], 0.6, Outcome.REVIEW, Basis.RULE),
        ([DECLINE], 0.6, Outcome.DECLINE, Basis.RULE),
        ([DECLINE, REVIEW], 0.0, Outcome.DECLINE, Basis.RULE),
        ([REVIEW, DECLINE, OVERRIDE], 0.0, Outcome.DECLINE, Basis.RULE),
        # An override beats the score, never a review or decline rule.
        ([OVERRIDE], 0.99, Outcome.APPROVE, Basis.OVERRIDE),
        ([OVERRIDE], 0.1, Outcome.APPROVE, Basis.OVERRIDE),
        ([OVERRIDE, REVIEW], 0.1, Outcome.REVIEW, Basis.RULE),
        ([OVERRIDE, TAG], 0.9, Outcome.APPROVE, Basis.OVERRIDE),
    ],
)
def test_strongest_action_wins_else_thresholds(
    actions: list[RuleAction], score: float, outcome: Outcome, basis: Basis
) -> None:
    assert decide(actions, score, THRESHOLDS) == (outcome, basis)


@pytest.mark.parametrize(
    ("actions", "score", "outcome"),
    [
        # Defect 0: the champion scored 0.998 and a review rule hit; the payment ended REVIEW,
        # "a rule decided this payment". A review rule may only raise the outcome.
        ([REVIEW], 0.998, Outcome.DECLINE),
        ([REVIEW, TAG], 0.85, Outcome.DECLINE),
        ([OVERRIDE, REVIEW], 0.95, Outcome.DECLINE),
    ],
)
def test_a_rule_never_lowers_what_the_score_says(
    actions: list[RuleAction], score: float, outcome: Outcome
) -> None:
    assert decide(actions, score, THRESHOLDS) == (outcome, Basis.SCORE)


@pytest.mark.parametrize("score", [0.0, 0.3, 0.5, 0.84, 0.85, 0.998, 1.0])
@pytest.mark.parametrize(
    "actions",
    [[], [TAG], [REVIEW], [DECLINE], [OVERRIDE], [TAG, REVIEW], [REVIEW, DECLINE], [OVERRIDE, TAG]],
)
def test_only_an_override_lowers_the_outcome_and_the_basis_says_which_decided(
    actions: list[RuleAction], score: float
) -> None:
    outcome, basis = decide(actions, score, THRESHOLDS)
    by_score = THRESHOLDS.outcome(score)
    strongest = max(actions, key=lambda action: action.strength, default=TAG)
    if strongest is OVERRIDE:
        assert (outcome, basis) == (Outcome.APPROVE, Basis.OVERRIDE)
        return
    assert outcome.strength >= by_score.strength  # never lower than the score says
    asked = strongest.outcome
    if asked is not None and asked.strength >= by_score.strength:
        assert (outcome, basis) == (asked, Basis.RULE)
    else:
        assert (outcome, basis) == (by_score, Basis.SCORE)


def test_actions_and_outcomes_are_ordered_by_strength() -> None:
    assert sorted(RuleAction, key=lambda action: action.strength) == [
        TAG,
        OVERRIDE,
        REVIEW,
        DECLINE,
    ]
    assert max(Outcome, key=lambda outcome: outcome.strength) is Outcome.DECLINE
    assert [a.outcome for a in (TAG, OVERRIDE, REVIEW, DECLINE)] == [
        None,
        Outcome.APPROVE,
        Outcome.REVIEW,
        Outcome.DECLINE,
    ]


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
