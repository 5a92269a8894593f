"""Hyperparameters chosen on the newest slice of the training rows, by average precision."""

import numpy as np
import pandas as pd
import pytest

from riskops.ml.selection import select_config
from riskops.ml.training import TrainingConfig


def _rows(n: int = 3_000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    label = (signal + rng.normal(scale=0.8, size=n) > 2.0).astype(int)
    return pd.DataFrame(
        {"signal": signal, "noise": rng.normal(size=n), "label": label, "t": np.arange(n)}
    )


def test_the_best_validation_average_precision_wins() -> None:
    frame = _rows()
    # A stump that barely trains next to a reasonable model: the second must win.
    weak = TrainingConfig(max_rounds=1, num_leaves=2, learning_rate=0.01, n_jobs=1)
    fair = TrainingConfig(max_rounds=60, num_leaves=7, min_child_samples=20, n_jobs=1)
    chosen = select_config(frame, ["signal", "noise"], "label", "t", [weak, fair])
    assert [index for index, _ in chosen.scores] == [0, 1]
    best = max(chosen.scores, key=lambda pair: pair[1])[0]
    assert chosen.config == [weak, fair][best]
    assert chosen.config == fair


def test_one_candidate_is_taken_without_fitting() -> None:
    only = TrainingConfig(n_jobs=1)
    assert select_config(_rows(), ["signal"], "label", "t", [only]).config is only
    with pytest.raises(ValueError, match="at least one candidate"):
        select_config(_rows(), ["signal"], "label", "t", [])
