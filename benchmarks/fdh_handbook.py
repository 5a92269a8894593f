"""The Fraud Detection Handbook's simulated data: loading, its baseline features, its protocol.

The handbook's customer is our card (and account), its terminal our merchant, its amounts
become minor units (cents). The data is read where it lies (never copied into the repo):
`RISKOPS_FDH_DIR`, else `../shared/benchmarks/fdh-simulated` relative to the repo root.

Windows are computed with sorted keys and binary search instead of per-group pandas
rolling: a window (t - w, t] ends at the current row (ties after it are not counted, as
pandas' rolling counts rows up to the current one), so the result equals the handbook's.
"""

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

DAY: Final = 86_400
WINDOW_DAYS: Final = (1, 7, 30)
DELAY_DAYS: Final = 7
# The handbook's 14 baseline features plus the amount, in its column order.
BASELINE_FEATURES: Final = (
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    *(f"CUSTOMER_ID_{s}_{n}DAY_WINDOW" for n in WINDOW_DAYS for s in ("NB_TX", "AVG_AMOUNT")),
    *(f"TERMINAL_ID_{s}_{n}DAY_WINDOW" for n in WINDOW_DAYS for s in ("NB_TX", "RISK")),
)
# Extra signals our default training adds: the amount against the customer's own history
# (scenario 3 multiplies a stolen card's amounts by 5) and the customer's spread of amounts.
EXTRA_FEATURES: Final = (
    *(f"CUSTOMER_ID_AMOUNT_RATIO_{n}DAY_WINDOW" for n in (7, 30)),
    *(f"TERMINAL_ID_NB_TX_{n}DAY_RECENT" for n in (1, 7)),
    "CUSTOMER_ID_AMOUNT_RATIO_BASELINE",
    "CUSTOMER_ID_AVG_AMOUNT_RATIO_1DAY_BASELINE",
)


def data_dir() -> Path:
    override = os.environ.get("RISKOPS_FDH_DIR")
    if override:
        return Path(override)
    repo_root = Path(__file__).resolve().parents[1]
    return repo_root.parent / "shared" / "benchmarks" / "fdh-simulated"


def load_days(folder: Path, start: date, end: date) -> pd.DataFrame:
    """Daily pickles from start to end inclusive, typed and in transaction order."""
    frames = []
    day = start
    while day <= end:
        path = folder / f"{day.isoformat()}.pkl"
        if not path.exists():
            raise FileNotFoundError(f"no handbook file for {day} at {path}")
        frames.append(pd.read_pickle(path))
        day += timedelta(days=1)
    frame = pd.concat(frames, ignore_index=True)
    for column in ("CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_SECONDS", "TX_TIME_DAYS", "TX_FRAUD"):
        frame[column] = frame[column].astype("int64")
    return frame.sort_values("TRANSACTION_ID", kind="stable").reset_index(drop=True)


class _Windows:
    """Per-entity window sums over (t - lo, t - hi] by binary search on (entity, time) keys."""

    def __init__(self, entity: npt.NDArray[np.int64], seconds: npt.NDArray[np.int64]) -> None:
        self.order = np.lexsort((np.arange(len(entity)), seconds, entity))
        span = int(seconds.max()) + 400 * DAY
        self.keys = entity[self.order] * span + seconds[self.order]
        self.position = np.empty(len(entity), dtype=np.int64)
        self.position[self.order] = np.arange(len(entity))
        self.row_keys = entity * span + seconds

    def bounds(self, lo_seconds: int, hi_seconds: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted-index range [left, right) of each row's window (t - lo, t - hi]."""
        left = np.searchsorted(self.keys, self.row_keys - lo_seconds, side="right")
        if hi_seconds is None:  # ends at the row itself, the row included
            right = self.position + 1
        else:
            right = np.searchsorted(self.keys, self.row_keys - hi_seconds, side="right")
        return left, right

    def sums(self, values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        # Integer running sums (amounts in minor units) so long prefixes lose no precision.
        cumulative = np.concatenate(([0], np.cumsum(values[self.order], dtype=np.int64)))
        sums: np.ndarray = (cumulative[right] - cumulative[left]).astype(np.float64)
        return sums


def add_features(frame: pd.DataFrame, *, extra: bool = True) -> pd.DataFrame:
    """The handbook's baseline features (and, with extra, ours) on raw transactions."""
    out = frame.copy()
    when = pd.to_datetime(out["TX_DATETIME"])
    out["TX_DURING_WEEKEND"] = (when.dt.day_of_week >= 5).astype("int64")
    out["TX_DURING_NIGHT"] = (when.dt.hour <= 6).astype("int64")
    seconds = out["TX_TIME_SECONDS"].to_numpy(np.int64)
    amount = out["TX_AMOUNT"].to_numpy(np.float64)
    cents = np.rint(amount * 100).astype(np.int64)  # the handbook's amounts have two decimals
    fraud = out["TX_FRAUD"].to_numpy(np.int64)
    ones = np.ones(len(out), dtype=np.int64)

    customer = _Windows(out["CUSTOMER_ID"].to_numpy(np.int64), seconds)
    for n in WINDOW_DAYS:
        left, right = customer.bounds(n * DAY, None)
        count = (right - left).astype(np.float64)
        total = customer.sums(cents, left, right) / 100
        out[f"CUSTOMER_ID_NB_TX_{n}DAY_WINDOW"] = count
        out[f"CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW"] = total / count
        if extra and n in (7, 30):
            previous = np.maximum(count - 1, 1)
            mean_before = np.where(count > 1, (total - amount) / previous, amount)
            out[f"CUSTOMER_ID_AMOUNT_RATIO_{n}DAY_WINDOW"] = amount / np.maximum(mean_before, 1)

    if extra:
        # The customer's habits before a possible compromise: amounts in (t - 30d, t - 7d].
        left, right = customer.bounds(30 * DAY, DELAY_DAYS * DAY)
        count = (right - left).astype(np.float64)
        habit = np.where(
            count > 0, customer.sums(cents, left, right) / 100 / np.maximum(count, 1), np.nan
        )
        habit = np.maximum(habit, 1)
        out["CUSTOMER_ID_AMOUNT_RATIO_BASELINE"] = amount / habit
        out["CUSTOMER_ID_AVG_AMOUNT_RATIO_1DAY_BASELINE"] = (
            out["CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"] / habit
        )

    terminal = _Windows(out["TERMINAL_ID"].to_numpy(np.int64), seconds)
    for n in WINDOW_DAYS:
        left, right = terminal.bounds((n + DELAY_DAYS) * DAY, DELAY_DAYS * DAY)
        count = terminal.sums(ones, left, right)
        frauds = terminal.sums(fraud, left, right)
        out[f"TERMINAL_ID_NB_TX_{n}DAY_WINDOW"] = count
        out[f"TERMINAL_ID_RISK_{n}DAY_WINDOW"] = np.where(
            count > 0, frauds / np.maximum(count, 1), 0
        )
        if extra and n in (1, 7):
            # Recent activity (no label needed): a compromised terminal changes its rhythm.
            recent_left, recent_right = terminal.bounds(n * DAY, None)
            out[f"TERMINAL_ID_NB_TX_{n}DAY_RECENT"] = (recent_right - recent_left).astype(float)
    return out


def match_rate(
    ours: pd.DataFrame, reference: pd.DataFrame, columns: tuple[str, ...]
) -> dict[str, float]:
    """Share of rows whose features equal the reference's (to 1e-9), per column and overall."""
    merged = ours.merge(reference, on="TRANSACTION_ID", suffixes=("", "_ref"))
    rates: dict[str, float] = {}
    every = np.ones(len(merged), dtype=bool)
    for column in columns:
        equal = np.isclose(
            merged[column].to_numpy(np.float64),
            merged[f"{column}_ref"].to_numpy(np.float64),
            atol=1e-9,
            rtol=1e-12,
        )
        rates[column] = float(equal.mean())
        every &= equal
    rates["all_features"] = float(every.mean())
    rates["rows"] = float(len(merged))
    rates["rows_mismatched"] = float((~every).sum())
    return rates


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


def protocol_split(
    frame: pd.DataFrame,
    train_start: date,
    train_days: int = 7,
    delay_days: int = 7,
    test_days: int = 7,
) -> Split:
    """The handbook's train / delay / test split, known-compromised cards removed from test."""
    origin = date(2018, 4, 1)
    first = (train_start - origin).days
    days = frame["TX_TIME_DAYS"]
    train = frame[(days >= first) & (days < first + train_days)]
    known = set(train.loc[train["TX_FRAUD"] == 1, "CUSTOMER_ID"])
    tests = []
    for offset in range(test_days):
        day = first + train_days + delay_days + offset
        # A card is known on test day D once it had a fraud on any day up to D - (delay + 1).
        seen = frame[(days == first + train_days + offset - 1) & (frame["TX_FRAUD"] == 1)]
        known |= set(seen["CUSTOMER_ID"])
        on_day = frame[days == day]
        tests.append(on_day[~on_day["CUSTOMER_ID"].isin(known)])
    return Split(train=train, test=pd.concat(tests))
