"""Metrics against hand-computed values, card precision@k as the handbook defines it."""

import numpy as np
import pytest

from riskops.ml.metrics import card_precision_at_k, classification_metrics, recall_at_fpr


def test_card_precision_takes_each_cards_max_and_drops_detected_cards() -> None:
    # Day 0: cards 1 (fraud), 2, 3; day 1: card 1 again (already detected: dropped), 4 (fraud).
    days = np.array([0, 0, 0, 0, 1, 1, 1])
    cards = np.array([1, 1, 2, 3, 1, 4, 5])
    labels = np.array([0, 1, 0, 0, 1, 1, 0])
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.99, 0.7, 0.6])
    # Day 0, k=2: card 1 (max 0.9, max label 1) and card 2 -> 1/2. Card 1 is now detected.
    # Day 1: card 1 dropped; top 2 are card 4 (fraud) and card 5 -> 1/2.
    assert card_precision_at_k(days, cards, labels, scores, 2) == pytest.approx(0.5)
    # k=1 divides by k: day 0 -> card 1 (1/1); day 1 -> card 4 (1/1).
    assert card_precision_at_k(days, cards, labels, scores, 1) == pytest.approx(1.0)
    # k=10 always divides by 10 even with fewer cards: day 0 1/10, day 1 1/10.
    assert card_precision_at_k(days, cards, labels, scores, 10) == pytest.approx(0.1)


def test_recall_at_fpr_is_the_best_recall_within_the_budget() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.1, 0.85, 0.5, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.05])
    # No false positive allowed: only 0.9 ranks above every negative -> 1/4.
    assert recall_at_fpr(labels, scores, 0.0) == pytest.approx(0.25)
    # One false positive out of 10 (0.85): 0.9 and 0.8 -> 2/4.
    assert recall_at_fpr(labels, scores, 0.1) == pytest.approx(0.5)


def test_metrics_refuse_a_single_class() -> None:
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])


def test_perfect_ranking_scores_one() -> None:
    result = classification_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert result["auc"] == 1.0
    assert result["ap"] == 1.0
    assert result["recall_at_fpr_0.001"] == 1.0
