"""Prequential splitting: folds never overlap, the label delay is respected, test rows are fair."""

import itertools
from datetime import date, timedelta

import pandas as pd
import pytest
from benchmarks.fdh_handbook import protocol_split

from riskops.ml.prequential import Fold, labelled_history, rolling_folds, split_fold
from tests.ml.handbook_like import handbook_like

HANDBOOK_TEST_WEEK = (date(2018, 8, 8) - date(2018, 4, 1)).days


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return handbook_like()


def test_the_whole_period_rolls_weekly_and_lines_up_with_the_handbook_week() -> None:
    folds = rolling_folds(37, 182, anchor_test_start=HANDBOOK_TEST_WEEK)
    assert len(folds) == 18
    assert folds[0].train_start >= 37 and folds[-1].test_end - 1 <= 182
    assert HANDBOOK_TEST_WEEK in [f.test_start for f in folds]
    # The handbook's headline fold (train 07-25, test 08-08) is one of them.
    assert Fold((date(2018, 7, 25) - date(2018, 4, 1)).days) in folds
    for fold in folds:
        train = set(range(fold.train_start, fold.train_end))
        delay = set(range(fold.train_end, fold.test_start))
        test = set(range(fold.test_start, fold.test_end))
        assert len(train) == len(delay) == len(test) == 7
        assert not (train & delay or train & test or delay & test)
        assert min(test) - max(train) == 8  # a full delay week between the last label and test
    for before, after in itertools.pairwise(folds):
        assert after.test_start == before.test_end  # test weeks tile the period, no overlap


def test_folds_refuse_an_empty_window() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        rolling_folds(0, 100, anchor_test_start=20, test_days=0)
    with pytest.raises(ValueError, match="negative"):
        rolling_folds(0, 100, anchor_test_start=20, delay_days=-1)


def test_split_keeps_train_and_test_in_their_windows(history: pd.DataFrame) -> None:
    fold = Fold(train_start=5)
    data = split_fold(history, fold)
    assert data.train["TX_TIME_DAYS"].between(5, 11).all()
    assert data.test["TX_TIME_DAYS"].between(19, 25).all()
    assert set(data.train["TRANSACTION_ID"]).isdisjoint(data.test["TRANSACTION_ID"])
    assert len(data.train) and len(data.test) and data.train["TX_FRAUD"].sum() > 0


def test_known_compromised_cards_leave_the_test_only_after_the_delay(history: pd.DataFrame) -> None:
    fold = Fold(train_start=5)
    data = split_fold(history, fold)
    frauds = history[history["TX_FRAUD"] == 1]
    for day, rows in data.test.groupby("TX_TIME_DAYS"):
        # Known on day D: a fraud in training or on any day up to D - 8.
        known = set(
            frauds[frauds["TX_TIME_DAYS"].between(fold.train_start, day - 8)]["CUSTOMER_ID"]
        )
        assert known.isdisjoint(rows["CUSTOMER_ID"])
        # A fraud one day later (D - 7) is not known yet: that card may still be tested.
        everyone = history[history["TX_TIME_DAYS"] == day]
        kept = everyone[~everyone["CUSTOMER_ID"].isin(known)]
        assert len(rows) == len(kept)


def test_split_equals_the_handbook_protocol(history: pd.DataFrame) -> None:
    # benchmarks/fdh_handbook.protocol_split reproduces the published Chapter 3 numbers.
    for start in (3, 8):
        ours = split_fold(history, Fold(train_start=start))
        theirs = protocol_split(history, date(2018, 4, 1) + timedelta(days=start))
        pd.testing.assert_frame_equal(ours.train, theirs.train)
        pd.testing.assert_frame_equal(ours.test, theirs.test)


def test_a_longer_history_still_ends_where_training_ends(history: pd.DataFrame) -> None:
    fold = Fold(train_start=12)
    rows = labelled_history(history, fold, 14)
    assert rows["TX_TIME_DAYS"].min() == 5 and rows["TX_TIME_DAYS"].max() == fold.train_end - 1
    assert (rows["TX_TIME_DAYS"] < fold.train_end).all()
    with pytest.raises(ValueError, match="at least one day"):
        labelled_history(history, fold, 0)
