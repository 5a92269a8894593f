"""Training: gradient-boosted trees (LightGBM) on a time-ordered frame, evaluated on the future.

The newest `holdout_share` of the rows (by event time) is never trained on: the metrics,
the promotion gate and the drift reference's score distribution come from it. With
`early_stopping_share` > 0 the newest slice of the older part picks the number of trees
(then the model is refit on all of it); the default is a fixed, small-leaved ensemble,
which measured best on the handbook's data. Class imbalance is handled by balanced bagging:
every fraud is kept in each bag and `neg_bagging_fraction` of the genuine rows, which
measured better than inverse-frequency weights (and trains faster). Scores are then
ranking scores whose odds are inflated by about 1 / neg_bagging_fraction.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskops.ml.drift import SCORE, Reference, reference_of
from riskops.ml.feature_schema import FeatureSchema
from riskops.ml.metrics import classification_metrics


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 100
    feature_fraction: float = 0.8
    neg_bagging_fraction: float = 0.3
    lambda_l2: float = 1.0
    max_rounds: int = 300
    early_stopping_rounds: int = 30
    early_stopping_share: float = 0.0
    holdout_share: float = 0.2
    n_jobs: int = 2
    seed: int = 7

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "metric": "average_precision",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "pos_bagging_fraction": 1.0,
            "neg_bagging_fraction": self.neg_bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.n_jobs,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }


@dataclass
class TrainedModel:
    booster: lgb.Booster
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, float]
    references: dict[str, Reference] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    # Median of each feature over the genuine training rows: a typical payment (forms start here).
    typical: dict[str, float] = field(default_factory=dict)
    # The typed schema of a model trained on any table (None: every feature a number).
    schema: FeatureSchema | None = None
    # Such a model's holdout rows as read, with their label: later versions are gated on them.
    holdout: pd.DataFrame | None = None


def time_split(
    frame: pd.DataFrame, time_column: str, share: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(older, newer): the newest `share` of rows by event time, never shuffled."""
    ordered = frame.sort_values(time_column, kind="stable")
    cut = int(len(ordered) * (1 - share))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def _check(frame: pd.DataFrame, label: str, what: str) -> tuple[int, int]:
    positives = int(frame[label].sum())
    negatives = len(frame) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"the {what} rows need both fraud and genuine labels")
    return positives, negatives


def fit_booster(
    train: pd.DataFrame,
    features: list[str],
    label: str,
    config: TrainingConfig,
    time_column: str | None = None,
    categorical: Sequence[str] = (),
) -> tuple[lgb.Booster, dict[str, Any]]:
    """Fit on `train`, early-stopping on its newest slice when a time column is given."""
    _check(train, label, "training")
    params = config.lgb_params()
    fit, stop = train, None
    if time_column is not None and config.early_stopping_share > 0:
        fit, stop = time_split(train, time_column, config.early_stopping_share)
        if stop[label].nunique() < 2:
            fit, stop = train, None
    # Categories arrive as integer codes (NaN: missing); LightGBM splits them as sets.
    kinds: Any = list(categorical) or "auto"
    data = lgb.Dataset(
        fit[features].to_numpy(np.float64),
        fit[label].to_numpy(),
        feature_name=features,
        categorical_feature=kinds,
    )
    callbacks: list[Callable[..., Any]] = []
    valid_sets = []
    if stop is not None:
        valid_sets.append(
            lgb.Dataset(stop[features].to_numpy(np.float64), stop[label].to_numpy(), reference=data)
        )
        callbacks.append(lgb.early_stopping(config.early_stopping_rounds, verbose=False))
    booster = lgb.train(
        params, data, num_boost_round=config.max_rounds, valid_sets=valid_sets, callbacks=callbacks
    )
    if stop is not None and booster.best_iteration > 0:
        # Refit on every training row with the number of trees the newest slice chose.
        rounds = booster.best_iteration
        full = lgb.Dataset(
            train[features].to_numpy(np.float64),
            train[label].to_numpy(),
            feature_name=features,
            categorical_feature=kinds,
        )
        booster = lgb.train(params, full, num_boost_round=rounds)
    params["num_boost_round"] = booster.current_iteration()
    return booster, params


def train_model(
    frame: pd.DataFrame,
    features: list[str],
    *,
    label: str = "label",
    time_column: str = "occurred_at",
    config: TrainingConfig | None = None,
    holdout: pd.DataFrame | None = None,
    card_column: str | None = None,
    day_column: str | None = None,
    k: int = 100,
    categorical: Sequence[str] = (),
) -> TrainedModel:
    """Train on the older rows, measure on the newest (or on the given holdout)."""
    config = config or TrainingConfig()
    missing = [f for f in [*features, label, time_column] if f not in frame.columns]
    if missing:
        raise ValueError(f"the training frame lacks columns {missing}")
    if holdout is None:
        train, holdout = time_split(frame, time_column, config.holdout_share)
    else:
        train = frame
    _check(holdout, label, "holdout")
    booster, params = fit_booster(train, features, label, config, time_column, categorical)
    scores = booster.predict(holdout[features].to_numpy(np.float64))
    metrics = classification_metrics(
        holdout[label].to_numpy(np.int64),
        scores,
        days=holdout[day_column].to_numpy(np.int64) if day_column else None,
        cards=holdout[card_column].to_numpy(np.int64) if card_column else None,
        k=k,
    )
    references = {name: reference_of(train[name].to_numpy(np.float64)) for name in features}
    references[SCORE] = reference_of(np.asarray(scores, dtype=np.float64))
    params.update({f"config.{k_}": v for k_, v in asdict(config).items()})
    genuine = train[train[label] == 0] if (train[label] == 0).any() else train
    typical = {name: round(float(genuine[name].median()), 4) for name in features}
    return TrainedModel(
        booster=booster,
        features=list(features),
        params=params,
        metrics=metrics,
        references=references,
        rows={
            "train": len(train),
            "holdout": len(holdout),
            "holdout_frauds": int(holdout[label].sum()),
        },
        typical={k: v for k, v in typical.items() if v == v},  # NaN: a feature never present
    )
