"""The recommendation: the strongest signal decides, policy constraints apply last."""

import pytest

from riskops.investigations.tools import recommend
from riskops.investigations.tools.patterns import Pattern
from riskops.investigations.tools.recommend import Action, Recommendation
from riskops.investigations.tools.similar import summarise
from tests.investigations.crafted import context


def pattern(name: str, strength: float) -> Pattern:
    return Pattern(name, strength, {"kind": "card", "id": "tok-1"}, "because", ["E2"], {})


def neighbours(fraud: int, legit: int, unlabelled: int = 0) -> list[dict[str, object]]:
    labels = ["fraud"] * fraud + ["legit"] * legit + [None] * unlabelled
    return [
        {"id": f"r{i}", "distance": 0.1, "outcome": "review", "label": label}
        for i, label in enumerate(labels)
    ]


def test_nothing_found_is_an_approval_resting_on_the_decision() -> None:
    ctx = context()
    found = recommend.recommend(ctx, [], None)
    assert found.action is Action.APPROVE and found.constraints == []
    assert ctx.refs["decision"] in found.evidence_ids


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("card_testing", Action.BLOCK_CARD),
        ("merchant_confirmed_fraud", Action.DRAFT_RULE),
        ("linked_entities", Action.WATCH_LIST_ENTITY),
        ("velocity", Action.ESCALATE),
        ("impossible_travel", Action.BLOCK_CARD),
    ],
)
def test_a_strong_pattern_picks_its_action(name: str, action: Action) -> None:
    found = recommend.recommend(context(), [pattern(name, 0.9)], None)
    assert found.action is action and found.confidence == 0.9 and found.evidence_ids == ["E2"]


def test_a_card_block_is_never_recommended_for_anything_but_a_card() -> None:
    account = Pattern("impossible_travel", 0.9, {"kind": "account", "id": "a"}, "x", ["E2"], {})
    found = recommend.recommend(context(), [account], None)
    assert found.action is Action.ESCALATE and found.entity == {"kind": "account", "id": "a"}


def test_a_weak_pattern_escalates() -> None:
    assert recommend.recommend(context(), [pattern("card_testing", 0.5)], None).action is (
        Action.ESCALATE
    )


def test_a_block_list_hit_is_a_decline_whatever_else() -> None:
    ctx = context(block_hits=["blocked_cards"])
    found = recommend.recommend(ctx, [], None)
    assert found.action is Action.DECLINE and found.evidence_ids == [
        ctx.refs["block:blocked_cards"]
    ]


def test_policy_never_approves_over_a_block_list_hit() -> None:
    ctx = context(block_hits=["blocked_devices"])
    approve = Recommendation(Action.APPROVE, 0.9, ["E1"], "looks fine")
    found = recommend.constrain(approve, ctx, None)
    assert found.action is Action.DECLINE
    assert found.constraints == ["never approve over a block-list hit"]


def test_policy_never_approves_over_a_confirmed_fraud_neighbour_majority() -> None:
    similar = summarise(neighbours(fraud=3, legit=1, unlabelled=4))
    assert similar.fraud_majority and similar.summary_id is not None
    found = recommend.recommend(context(), [], similar)
    assert found.action is Action.ESCALATE
    assert found.constraints == ["never approve over a confirmed-fraud neighbour majority"]
    assert found.evidence_ids == [similar.summary_id]


def test_a_fraud_minority_or_too_few_labels_leaves_an_approval_alone() -> None:
    for similar in (summarise(neighbours(fraud=1, legit=3)), summarise(neighbours(2, 0, 8))):
        assert not similar.fraud_majority
        assert recommend.recommend(context(), [], similar).action is Action.APPROVE
