"""Training on generated data: the holdout is the future, metrics and references come with it."""

import numpy as np
import pandas as pd
import pytest

from riskops.features import FEATURE_NAMES
from riskops.ml.drift import SCORE
from riskops.ml.synthetic import featurise, synthetic_payments
from riskops.ml.training import TrainedModel, time_split, train_model
from tests.ml.conftest import SMALL


def test_a_model_trained_on_generated_history_ranks_fraud_first(small_model: TrainedModel) -> None:
    assert small_model.features == list(FEATURE_NAMES)
    assert small_model.rows["train"] == 2_400
    assert small_model.rows["holdout"] == 600
    # The generated frauds are learnable: far better than chance on unseen (later) rows.
    assert small_model.metrics["auc"] > 0.8
    assert small_model.metrics["ap"] > 10 * small_model.rows["holdout_frauds"] / 600
    assert set(small_model.references) == {*FEATURE_NAMES, SCORE}


def test_time_split_never_trains_on_the_future() -> None:
    frame = pd.DataFrame({"occurred_at": [5, 1, 4, 2, 3], "x": range(5)})
    older, newer = time_split(frame, "occurred_at", 0.4)
    assert list(older["occurred_at"]) == [1, 2, 3]
    assert list(newer["occurred_at"]) == [4, 5]


def test_synthetic_features_come_from_the_production_definitions() -> None:
    rows = synthetic_payments(1_000, seed=3)
    frame = featurise(rows)
    assert list(frame.columns[: len(FEATURE_NAMES)]) == list(FEATURE_NAMES)
    assert frame["occurred_at"].is_monotonic_increasing
    # The first payment of a card counts itself only.
    first = frame.groupby("card").head(1)
    assert (first["card_count_24h"] == 1).all()
    assert set(np.unique(frame["label"])) == {0, 1}


def test_training_refuses_a_frame_without_fraud() -> None:
    frame = featurise(synthetic_payments(400, seed=5))
    frame["label"] = 0
    with pytest.raises(ValueError, match="both fraud and genuine"):
        train_model(frame, list(FEATURE_NAMES), config=SMALL)


def test_training_names_missing_columns() -> None:
    frame = pd.DataFrame({"label": [0, 1], "occurred_at": [1, 2]})
    with pytest.raises(ValueError, match="lacks columns"):
        train_model(frame, ["card_count_1h"], config=SMALL)
