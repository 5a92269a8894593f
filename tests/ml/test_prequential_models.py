"""The prequential benchmark's models: baselines as the handbook configures them, no leakage.

The leakage guard runs the benchmark's own fold (benchmarks/fdh_models.run_fold) on a
handbook-like history twice: once as it is, once with every label after the training
window flipped and the test week's amounts changed. Features are recomputed from scratch
each time (the handbook's, and ours through the online store). If anything from after the
training window reached training, some trained model would differ; all are byte-identical.
"""

import csv
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from benchmarks import fdh_handbook as fdh
from benchmarks.fdh_models import BASELINES, SERVED, run_fold
from benchmarks.fdh_replay import production_features
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from riskops.features import FEATURE_NAMES
from riskops.ml.prequential import Fold, labelled_history, split_fold
from tests.ml.handbook_like import handbook_like

ESTIMATORS = {
    "LogisticRegression": LogisticRegression,
    "RandomForestClassifier": RandomForestClassifier,
}


def _parse(spelled: str) -> tuple[str, dict[str, object]]:
    """'Name(a=1,b=x)' -> ('Name', {'a': 1, 'b': 'x'}), as published_results.tsv spells it."""
    match = re.fullmatch(r"(\w+)\((.*)\)", spelled)
    assert match, spelled
    kwargs: dict[str, object] = {}
    for pair in filter(None, match.group(2).split(",")):
        key, value = pair.split("=")
        kwargs[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return match.group(1), kwargs


@pytest.mark.parametrize("baseline", BASELINES[:2], ids=lambda b: b.name)
def test_sklearn_baselines_are_the_handbooks_estimators(baseline: object) -> None:
    name, kwargs = _parse(baseline.handbook)  # type: ignore[attr-defined]
    pipeline = baseline.pipeline(n_jobs=2)  # type: ignore[attr-defined]
    scaler, classifier = (step for _, step in pipeline.steps)
    assert isinstance(scaler, StandardScaler)  # Chapter 5: StandardScaler + classifier
    assert type(classifier).__name__ == name
    expected = ESTIMATORS[name](**kwargs).get_params()
    ours = classifier.get_params()
    # n_jobs only spreads the work over cores (the handbook's -1: every core).
    expected.pop("n_jobs", None)
    ours.pop("n_jobs", None)
    assert ours == expected


def test_the_boosting_baseline_is_lightgbm_with_its_defaults() -> None:
    baseline = BASELINES[2]
    classifier = baseline.pipeline(n_jobs=2).steps[-1][1]
    ours, defaults = classifier.get_params(), LGBMClassifier(random_state=0).get_params()
    for knob in ("n_jobs", "verbose"):
        ours.pop(knob, None), defaults.pop(knob, None)
    assert ours == defaults
    assert (ours["n_estimators"], ours["num_leaves"], ours["learning_rate"]) == (100, 31, 0.1)


def test_baselines_read_the_handbooks_fifteen_inputs() -> None:
    assert len(fdh.BASELINE_FEATURES) == 15 and fdh.BASELINE_FEATURES[0] == "TX_AMOUNT"
    assert len(set(fdh.BASELINE_FEATURES)) == 15


@pytest.mark.skipif(not (fdh.data_dir() / "published_results.tsv").exists(), reason="no data")
def test_baseline_spellings_are_the_published_ones() -> None:
    with (fdh.data_dir() / "published_results.tsv").open() as handle:
        published = {
            row["params"].split(" [")[0]
            for row in csv.DictReader(handle, delimiter="\t")
            if row["experiment"] == "ch3_baseline_single_split"
        }
    assert {b.handbook for b in BASELINES} <= published


def _trained(raw: pd.DataFrame, fold: Fold, served_days: int) -> dict[str, bytes]:
    featured = fdh.add_features(raw, extra=False)
    featured = featured.merge(production_features(raw).frame(), on="TRANSACTION_ID")
    models = run_fold(
        split_fold(featured, fold),
        labelled_history(featured, fold, served_days),
        baseline_features=fdh.BASELINE_FEATURES,
        served_features=FEATURE_NAMES,
        n_jobs=1,
    )
    return {
        name: model.model_to_string().encode() if name == SERVED else pickle.dumps(model)
        for name, model in models.fitted.items()
    }


@pytest.mark.timeout(600)
def test_nothing_after_the_training_window_reaches_any_model() -> None:
    raw = handbook_like(days=30, customers=120, terminals=40, seed=5)
    fold = Fold(train_start=9)  # train 9-15, delay 16-22, test 23-29
    changed = raw.copy()
    later = (changed["TX_TIME_DAYS"] >= fold.train_end).to_numpy()
    changed.loc[later, "TX_FRAUD"] = 1 - changed.loc[later, "TX_FRAUD"]
    test_week = (changed["TX_TIME_DAYS"] >= fold.test_start).to_numpy()
    changed.loc[test_week, "TX_AMOUNT"] = (changed.loc[test_week, "TX_AMOUNT"] * 3).round(2)
    assert not np.array_equal(raw["TX_FRAUD"], changed["TX_FRAUD"])

    for served_days in (9,):  # the training week and two labelled days before it
        original, perturbed = _trained(raw, fold, served_days), _trained(changed, fold, served_days)
        assert set(original) == {*(b.name for b in BASELINES), SERVED}
        for name, model in original.items():
            assert perturbed[name] == model, f"{name} saw something after its training window"


def test_the_guard_would_notice_a_leak() -> None:
    # The same comparison catches a change inside the training window: the guard has teeth.
    raw = handbook_like(days=30, customers=120, terminals=40, seed=5)
    fold = Fold(train_start=9)
    changed = raw.copy()
    inside = (changed["TX_TIME_DAYS"] == fold.train_end - 1).to_numpy()
    changed.loc[inside, "TX_FRAUD"] = 1 - changed.loc[inside, "TX_FRAUD"]
    original, perturbed = _trained(raw, fold, 7), _trained(changed, fold, 7)
    assert all(perturbed[name] != model for name, model in original.items())
