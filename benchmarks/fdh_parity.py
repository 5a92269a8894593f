"""Feature parity: the handbook's raw transactions through OUR online feature code.

    python benchmarks/fdh_parity.py [--start 2018-07-25] [--days 3] [--history-days 38]

Each raw transaction becomes a Payment (customer -> card and account, terminal -> merchant,
amount -> cents) and is recorded, in event order, into the production MemoryOnlineStore;
`build_feature_vector` turns its reply into our features (the code the decision pipeline
runs). Labels reach the store as in production, through `record_label`, once the label
delay has passed in event time (the handbook's protocol: every transaction older than the
delay counts with its true label). The handbook's 14 baseline features are compared with
its `transformed/` files. The terminal's 30-day risk looks back 37 days, hence the history.
"""

import argparse
import sys
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

import fdh_handbook as fdh  # the sibling module (scripts run as python benchmarks/NAME.py)
from riskops.core.payment import Channel, Payment
from riskops.features import (
    FEATURE_NAMES,
    LABEL_DELAY,
    FeatureVector,
    MemoryOnlineStore,
    build_feature_vector,
)

# handbook column -> (our feature, scale applied to ours)
COVERED = {
    "CUSTOMER_ID_NB_TX_1DAY_WINDOW": ("card_count_24h", 1.0),
    "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW": ("card_amount_mean_24h", 0.01),
    "CUSTOMER_ID_NB_TX_7DAY_WINDOW": ("card_count_7d", 1.0),
    "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW": ("card_amount_mean_7d", 0.01),
    "CUSTOMER_ID_NB_TX_30DAY_WINDOW": ("card_count_30d", 1.0),
    "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW": ("card_amount_mean_30d", 0.01),
    "TERMINAL_ID_NB_TX_1DAY_WINDOW": ("merchant_delayed_count_1d", 1.0),
    "TERMINAL_ID_RISK_1DAY_WINDOW": ("merchant_fraud_rate_1d", 1.0),
    "TERMINAL_ID_NB_TX_7DAY_WINDOW": ("merchant_delayed_count_7d", 1.0),
    "TERMINAL_ID_RISK_7DAY_WINDOW": ("merchant_fraud_rate_7d", 1.0),
    "TERMINAL_ID_NB_TX_30DAY_WINDOW": ("merchant_delayed_count_30d", 1.0),
    "TERMINAL_ID_RISK_30DAY_WINDOW": ("merchant_fraud_rate_30d", 1.0),
    "TX_DURING_WEEKEND": ("is_weekend", 1.0),
    # The handbook's night is hours 0-6; our rule-facing is_night stays 0-5.
    "TX_DURING_NIGHT": ("is_night_0_6", 1.0),
}


def payments(frame: pd.DataFrame) -> list[Payment]:
    rows = []
    for row in frame.itertuples(index=False):
        customer = f"fdh-c{int(row.CUSTOMER_ID)}"
        rows.append(
            Payment(
                transaction_id=f"fdh-{int(row.TRANSACTION_ID)}",
                account_id=customer,
                card_token=customer,
                card_bin="400000",
                card_last4="0000",
                amount_minor=round(float(row.TX_AMOUNT) * 100),
                currency="EUR",
                merchant_id=f"fdh-t{int(row.TERMINAL_ID)}",
                merchant_category="5999",
                merchant_country="FR",
                channel=Channel.POS,
                occurred_at=pd.Timestamp(row.TX_DATETIME).tz_localize(UTC).to_pydatetime(),
            )
        )
    return rows


@dataclass(frozen=True)
class Replay:
    vectors: dict[int, FeatureVector]  # by the handbook's TRANSACTION_ID
    labels: int
    per_payment_us: float


def replay(raw: pd.DataFrame, keep_from: pd.Timestamp) -> Replay:
    """Record raw transactions (sorted by time, then id) and their delayed labels in order.

    Returns the feature vectors of the transactions at or after keep_from.
    """
    store = MemoryOnlineStore(label_delay=LABEL_DELAY)
    vectors: dict[int, FeatureVector] = {}
    # Labels wait in event order until the delay has passed for them.
    pending: deque[tuple[datetime, str, str, bool]] = deque()
    labels = 0
    started = time.perf_counter()
    for payment, when, fraud in track(
        zip(payments(raw), raw["TX_DATETIME"], raw["TX_FRAUD"], strict=True),
        total=len(raw),
        description="recording payments and delayed labels in event order",
    ):
        known_until = payment.occurred_at - LABEL_DELAY
        while pending and pending[0][0] <= known_until:
            at, txn, merchant, is_fraud = pending.popleft()
            store.record_label_sync(txn, merchant, at, fraud=is_fraud)
            labels += 1
        vector = build_feature_vector(payment, store.record_sync(payment))
        pending.append(
            (payment.occurred_at, payment.transaction_id, payment.merchant_id, bool(fraud))
        )
        if when >= keep_from:
            vectors[int(payment.transaction_id.removeprefix("fdh-"))] = vector
    per_payment_us = (time.perf_counter() - started) / len(raw) * 1e6
    return Replay(vectors, labels, per_payment_us)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 7, 25))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--history-days", type=int, default=38)
    args = parser.parse_args()
    folder = fdh.data_dir()
    console = Console()
    first = args.start - timedelta(days=args.history_days)
    last = args.start + timedelta(days=args.days - 1)
    raw = fdh.load_days(folder / "raw", first, last)
    raw = raw.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable")
    played = replay(raw, pd.Timestamp(args.start))
    vectors, labels, per_payment_us = played.vectors, played.labels, played.per_payment_us
    reference = pd.concat(
        pd.read_pickle(
            folder / "transformed" / f"{(args.start + timedelta(days=d)).isoformat()}.pkl"
        )
        for d in range(args.days)
    )
    table = Table("handbook feature", "our feature", "rows equal")
    every = np.ones(len(reference), dtype=bool)
    for column, (ours, scale) in COVERED.items():
        mine = np.array([vectors[int(t)][ours] * scale for t in reference["TRANSACTION_ID"]])
        equal = np.isclose(mine, reference[column].to_numpy(np.float64), rtol=1e-12, atol=1e-9)
        every &= equal
        table.add_row(column, ours, f"{equal.mean():.6f} ({int((~equal).sum())} differ)")
    missing = [c for c in fdh.BASELINE_FEATURES[1:] if c not in COVERED]
    for column in missing:
        table.add_row(column, "[red]not in our definitions[/red]", "-")
    console.print(table)
    console.print(
        f"{len(reference):,} compared rows; all covered features equal on "
        f"{every.mean():.6f} ({int((~every).sum())} rows differ); {len(COVERED)} of 14 "
        f"covered; {len(FEATURE_NAMES)} features computed per payment in "
        f"{per_payment_us:.1f} us (record + labels + vector, memory store); {labels:,} labels"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
