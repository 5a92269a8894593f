"""The models of the prequential benchmark: the handbook's baselines and our served model.

Baselines are configured as the handbook configures them: Chapter 3's estimators
(`LogisticRegression(random_state=0)`, `RandomForestClassifier(random_state=0,n_jobs=-1)`,
its XGBoost whose place LightGBM's defaults take here) behind Chapter 5's
`StandardScaler` pipeline, on its 15 inputs (the amount and the 14 baseline features).
Our served model is LightGBM on the production feature vector (FEATURE_NAMES, as the
online store computes it), its hyperparameters chosen inside its training window.

Imports no sibling script, so tests import it as `benchmarks.fdh_models`.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskops.ml.metrics import classification_metrics
from riskops.ml.prequential import FoldData
from riskops.ml.selection import select_config
from riskops.ml.training import TrainingConfig, fit_booster

LABEL = "TX_FRAUD"
SERVED = "served: LightGBM, production features"


@dataclass(frozen=True)
class Baseline:
    name: str
    handbook: str  # the estimator as published_results.tsv spells it (Chapter 3)
    estimator: Callable[[int], Any]  # n_jobs -> an unfitted classifier

    def pipeline(self, n_jobs: int) -> Pipeline:
        # Chapter 5 wraps every classifier in a scaler fitted on the training rows.
        return Pipeline([("scaler", StandardScaler()), ("clf", self.estimator(n_jobs))])


BASELINES: tuple[Baseline, ...] = (
    Baseline(
        "logistic regression",
        "LogisticRegression(random_state=0)",
        lambda n_jobs: LogisticRegression(random_state=0),
    ),
    Baseline(
        "random forest",
        "RandomForestClassifier(random_state=0,n_jobs=-1)",
        # n_jobs only spreads the trees over cores: the forest is the same for any value.
        lambda n_jobs: RandomForestClassifier(random_state=0, n_jobs=n_jobs),
    ),
    Baseline(
        "LightGBM defaults",
        # The handbook's third model is XGBoost with its defaults; LightGBM's defaults
        # (100 trees, 31 leaves, learning rate 0.1) stand in with the same seed.
        "XGBClassifier(random_state=0,n_jobs=-1)",
        lambda n_jobs: LGBMClassifier(random_state=0, n_jobs=n_jobs, verbose=-1),
    ),
)

# Our candidates: the default first (ties keep it), then variations that trade bias for
# variance; chosen per fold on the newest 30% of its training rows.
SERVED_CANDIDATES: tuple[TrainingConfig, ...] = (
    TrainingConfig(),
    TrainingConfig(num_leaves=31, min_child_samples=50),
    TrainingConfig(learning_rate=0.03, max_rounds=500, num_leaves=7, min_child_samples=200),
)


@dataclass(frozen=True)
class Scored:
    auc: float
    ap: float
    cp100: float
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {
            "auc": round(self.auc, 4),
            "ap": round(self.ap, 4),
            "cp100": round(self.cp100, 4),
            "seconds": round(self.seconds, 1),
        }


@dataclass
class FoldModels:
    """What a fold trained (kept so a test can compare them byte for byte) and its scores."""

    fitted: dict[str, Any]
    scores: dict[str, Scored]
    served_config: TrainingConfig


def _score(test: pd.DataFrame, predicted: np.ndarray, started: float) -> Scored:
    metrics = classification_metrics(
        test[LABEL].to_numpy(np.int64),
        np.asarray(predicted, dtype=np.float64),
        days=test["TX_TIME_DAYS"].to_numpy(np.int64),
        cards=test["CUSTOMER_ID"].to_numpy(np.int64),
        k=100,
    )
    return Scored(
        metrics["auc"], metrics["ap"], metrics["cp_at_100"], time.perf_counter() - started
    )


def score_booster(
    booster: lgb.Booster, test: pd.DataFrame, features: list[str], started: float
) -> Scored:
    return _score(test, booster.predict(test[features].to_numpy(np.float64)), started)


def train_served(
    history: pd.DataFrame,
    features: list[str],
    candidates: Sequence[TrainingConfig],
    n_jobs: int,
) -> tuple[lgb.Booster, TrainingConfig]:
    """Choose the hyperparameters on the history's newest slice, then fit on all of it."""
    candidates = [replace(c, n_jobs=n_jobs) for c in candidates]
    chosen = select_config(history, features, LABEL, "TX_TIME_SECONDS", candidates).config
    booster, _ = fit_booster(history, features, LABEL, chosen, time_column="TX_TIME_SECONDS")
    return booster, chosen


def run_fold(
    data: FoldData,
    history: pd.DataFrame,
    *,
    baseline_features: Sequence[str],
    served_features: Sequence[str],
    baselines: Sequence[Baseline] = BASELINES,
    candidates: Sequence[TrainingConfig] = SERVED_CANDIDATES,
    n_jobs: int = 2,
) -> FoldModels:
    """Train every baseline on the fold's training week and ours on `history`; score the test."""
    fitted: dict[str, Any] = {}
    scores: dict[str, Scored] = {}
    train_x = data.train[list(baseline_features)].to_numpy(np.float64)
    test_x = data.test[list(baseline_features)].to_numpy(np.float64)
    for baseline in baselines:
        started = time.perf_counter()
        model = baseline.pipeline(n_jobs).fit(train_x, data.train[LABEL].to_numpy(np.int64))
        fitted[baseline.name] = model
        scores[baseline.name] = _score(data.test, model.predict_proba(test_x)[:, 1], started)
    started = time.perf_counter()
    booster, chosen = train_served(history, list(served_features), candidates, n_jobs)
    fitted[SERVED] = booster
    scores[SERVED] = score_booster(booster, data.test, list(served_features), started)
    return FoldModels(fitted, scores, chosen)
