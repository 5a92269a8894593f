"""Prequential evaluation: rolling train / delay / test windows across a labelled history.

The Fraud Detection Handbook's protocol (Chapter 5): train on `train_days`, skip
`delay_days` (labels of those payments are not known yet when the model goes live), test on
the next `test_days`; then slide everything by a step and do it again, so a model is judged
on many weeks instead of one lucky split. Days are integer day numbers of the history.

In each test day, cards already known to be compromised are dropped: a card is known on
test day D once it had a fraud in training or on any day up to D - delay - 1 (an analyst
would have blocked it), exactly as the handbook's `get_train_delay_test_set` does.
"""

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, slots=True)
class Fold:
    """One prequential fold; day ranges are half-open [start, end)."""

    train_start: int
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    @property
    def train_end(self) -> int:
        return self.train_start + self.train_days

    @property
    def test_start(self) -> int:
        return self.train_end + self.delay_days

    @property
    def test_end(self) -> int:
        return self.test_start + self.test_days


def rolling_folds(
    first_day: int,
    last_day: int,
    *,
    anchor_test_start: int,
    train_days: int = 7,
    delay_days: int = 7,
    test_days: int = 7,
    step: int = 7,
) -> list[Fold]:
    """Every fold whose training starts at or after first_day and whose test ends by last_day.

    Test windows start on anchor_test_start + k * step (k of any sign), so the weeks line
    up with a reference fold (the handbook's test week starts 2018-08-08).
    """
    if min(train_days, test_days, step) < 1 or delay_days < 0:
        raise ValueError("train, test and step need at least one day; the delay cannot be negative")
    earliest_test = first_day + train_days + delay_days
    start = anchor_test_start + -(-(earliest_test - anchor_test_start) // step) * step
    folds = []
    while start + test_days - 1 <= last_day:
        folds.append(Fold(start - delay_days - train_days, train_days, delay_days, test_days))
        start += step
    return folds


@dataclass(frozen=True)
class FoldData:
    train: pd.DataFrame
    test: pd.DataFrame


def split_fold(
    frame: pd.DataFrame,
    fold: Fold,
    *,
    day: str = "TX_TIME_DAYS",
    card: str = "CUSTOMER_ID",
    label: str = "TX_FRAUD",
) -> FoldData:
    """The fold's training rows and its test rows, known-compromised cards removed."""
    days = frame[day]
    train = frame[(days >= fold.train_start) & (days < fold.train_end)]
    known = set(train.loc[train[label] == 1, card])
    tests = []
    for offset in range(fold.test_days):
        # The handbook: frauds of the delay period become known one day at a time.
        seen = frame[(days == fold.train_end + offset - 1) & (frame[label] == 1)]
        known |= set(seen[card])
        on_day = frame[days == fold.test_start + offset]
        tests.append(on_day[~on_day[card].isin(known)])
    return FoldData(train=train, test=pd.concat(tests))


def labelled_history(
    frame: pd.DataFrame, fold: Fold, days: int, *, day: str = "TX_TIME_DAYS"
) -> pd.DataFrame:
    """The `days` days that end where the fold's training ends: all labelled at test start.

    A model retrained in production learns from every labelled day it has, not only the
    fold's `train_days`; whatever the length, nothing after the training end is used.
    """
    if days < 1:
        raise ValueError("a training history needs at least one day")
    when = frame[day]
    return frame[(when >= fold.train_end - days) & (when < fold.train_end)]
