"""Model metrics: ROC AUC, average precision, recall at fixed FPRs, card precision@k.

Card precision@k follows the Fraud Detection Handbook (Chapter 4.2) exactly, so our numbers
compare with its published ones: walk the days in order, drop cards already detected on an
earlier day, take each card's max score and max label, rank cards, count frauds among the
top k and divide by k (always k), then average over the days.
"""

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

FPR_TARGETS: Final = (0.001, 0.01, 0.05)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def recall_at_fpr(labels: IntArray, scores: FloatArray, target: float) -> float:
    """The highest recall reachable while the false-positive rate stays <= target."""
    fpr, tpr, _ = roc_curve(labels, scores)
    allowed = fpr <= target
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def card_precision_at_k(
    days: IntArray, cards: IntArray, labels: IntArray, scores: FloatArray, k: int
) -> float:
    """The handbook's card precision@k averaged over days (see the module docstring)."""
    detected: set[int] = set()
    precisions: list[float] = []
    for day in np.unique(days):
        on_day = days == day
        day_cards, day_labels, day_scores = cards[on_day], labels[on_day], scores[on_day]
        keep = ~np.isin(day_cards, np.fromiter(detected, dtype=np.int64, count=len(detected)))
        day_cards, day_labels, day_scores = day_cards[keep], day_labels[keep], day_scores[keep]
        # Per card: max score and max label (groupby max), then the k highest-scored cards.
        unique, inverse = np.unique(day_cards, return_inverse=True)
        card_score = np.full(len(unique), -np.inf)
        np.maximum.at(card_score, inverse, day_scores)
        card_label = np.zeros(len(unique), dtype=np.int64)
        np.maximum.at(card_label, inverse, day_labels)
        top = np.argsort(-card_score, kind="stable")[:k]
        hits = unique[top][card_label[top] == 1]
        precisions.append(len(hits) / k)
        detected.update(int(c) for c in hits)
    return float(np.mean(precisions)) if precisions else 0.0


def classification_metrics(
    labels: Sequence[int] | IntArray,
    scores: Sequence[float] | FloatArray,
    *,
    days: IntArray | None = None,
    cards: IntArray | None = None,
    k: int = 100,
) -> dict[str, float]:
    """AUC, AP, recall at each FPR target, and card precision@k when days and cards are given."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if y.min(initial=0) == y.max(initial=0):
        raise ValueError("metrics need both classes in the evaluation set")
    result = {
        "auc": float(roc_auc_score(y, s)),
        "ap": float(average_precision_score(y, s)),
    }
    for target in FPR_TARGETS:
        result[f"recall_at_fpr_{target:g}"] = recall_at_fpr(y, s, target)
    if days is not None and cards is not None:
        result[f"cp_at_{k}"] = card_precision_at_k(days, cards, y, s, k)
    return result
