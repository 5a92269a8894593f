"""Hyperparameters chosen by time-based validation inside the training window only.

The candidates are fitted on the older part of the training rows and judged on its newest
part (by event time, never shuffled), then the winner is refitted on all of them. Nothing
outside the given training rows is read, so a test window cannot steer the choice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskops.ml.metrics import classification_metrics
from riskops.ml.training import TrainingConfig, fit_booster, time_split


@dataclass(frozen=True)
class Selection:
    config: TrainingConfig
    # (candidate index, validation average precision), in candidate order.
    scores: tuple[tuple[int, float], ...]


def select_config(
    train: pd.DataFrame,
    features: list[str],
    label: str,
    time_column: str,
    candidates: Sequence[TrainingConfig],
    *,
    validation_share: float = 0.3,
) -> Selection:
    """The candidate with the best average precision on the newest slice of `train`.

    Average precision because the ranking of the riskiest payments is what a review queue
    and a decline threshold use. Ties keep the earlier candidate (list the default first).
    """
    if not candidates:
        raise ValueError("select_config needs at least one candidate")
    if len(candidates) == 1:
        return Selection(candidates[0], ((0, float("nan")),))
    older, newer = time_split(train, time_column, validation_share)
    truth = newer[label].to_numpy(np.int64)
    if truth.min(initial=0) == truth.max(initial=0) or older[label].nunique() < 2:
        return Selection(candidates[0], ((0, float("nan")),))
    scores = []
    for index, config in enumerate(candidates):
        booster, _ = fit_booster(older, features, label, config)
        predicted = np.asarray(booster.predict(newer[features].to_numpy(np.float64)), np.float64)
        scores.append((index, classification_metrics(truth, predicted)["ap"]))
    best = max(scores, key=lambda pair: (pair[1], -pair[0]))[0]
    return Selection(candidates[best], tuple(scores))
