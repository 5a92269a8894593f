"""A small table of any shape the tabular tests train on: numbers, an integer with missing
values, categories (one with missing values), an identifier, a time column and a 0/1 target."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

START = datetime(2025, 3, 1, tzinfo=UTC)
COUNTRIES = ["DE", "FR", "KP", "US"]
CHANNELS = ["pos", "web"]


def make_table(rows: int = 1_500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.gamma(2.0, 60.0, rows), 2)
    country = rng.choice(COUNTRIES, rows, p=[0.4, 0.3, 0.08, 0.22])
    channel = rng.choice(CHANNELS, rows).astype(object)
    channel[rng.random(rows) < 0.1] = None
    age = rng.integers(18, 80, rows).astype(np.float64)
    age[rng.random(rows) < 0.15] = np.nan
    logit = -4.5 + 0.025 * amount + 3.5 * (country == "KP") + 1.5 * (channel == "web")
    target = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    minutes = np.cumsum(rng.integers(1, 30, rows))
    # File order is not time order: the split must follow the time column when one is named.
    order = rng.permutation(rows)
    return pd.DataFrame(
        {
            "customer_id": [f"cust-{i:05d}" for i in range(rows)],
            "amount": amount,
            "country": country,
            "channel": channel,
            "age": age,
            "seen_at": [(START + timedelta(minutes=int(m))).isoformat() for m in minutes],
            "is_fraud": target,
        }
    ).iloc[order]


def write_table(folder: Path, rows: int = 1_500, seed: int = 3, name: str = "claims.csv") -> Path:
    path = folder / name
    make_table(rows, seed).to_csv(path, index=False)
    return path
