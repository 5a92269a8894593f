"""Synthetic records for the similarity speed benchmark: feature rows shaped like ours.

Random 384-dim noise is no model of our vectors: they are 94 features projected, and the
features are strongly tied together (a card's 1 h count is part of its 24 h count, a sum is a
count times a mean). Each synthetic record draws a few latent habits per entity (how often a
card, account, device and merchant pay, and how much), and every windowed feature follows
from them with noise: counts are Poisson over the window, sums are count x amount, flags are
Bernoulli. The product's embedder (`features/1`) then turns the rows into vectors.
"""

import re

import numpy as np
import numpy.typing as npt

from riskops.features import FEATURE_NAMES
from riskops.similarity.embedders import FeatureEmbedder, fit_feature_params

WINDOW_DAYS = {"5m": 5 / 1440, "1h": 1 / 24, "24h": 1.0, "1d": 1.0, "7d": 7.0, "30d": 30.0}
_WINDOWED = re.compile(r"^(card|account|device|merchant)_(.+)_(5m|1h|24h|7d|30d)$")


def feature_rows(count: int, seed: int) -> npt.NDArray[np.float64]:
    """`count` raw feature rows, columns in FEATURE_NAMES order."""
    rng = np.random.default_rng(seed)
    per_day = {
        "card": rng.lognormal(0.0, 1.0, count),
        "account": rng.lognormal(0.3, 1.0, count),
        "device": rng.lognormal(0.0, 1.2, count),
        "merchant": rng.lognormal(4.0, 1.5, count),
    }
    amount = {e: rng.lognormal(3.5, 1.0, count) for e in per_day}
    spread = {e: rng.uniform(0.2, 1.0, count) for e in per_day}  # merchants/countries per pay
    fraud_rate = rng.beta(0.5, 60.0, count)
    columns = []
    for name in FEATURE_NAMES:
        windowed = _WINDOWED.match(name)
        if windowed:
            entity, stat, window = windowed.groups()
            counts = rng.poisson(per_day[entity] * WINDOW_DAYS[window])
            if stat == "count":
                column = counts.astype(np.float64)
            elif stat == "amount_sum":
                column = counts * amount[entity] * rng.lognormal(0.0, 0.3, count)
            elif stat == "amount_mean":
                column = np.where(counts > 0, amount[entity] * rng.lognormal(0, 0.2, count), 0.0)
            elif stat == "distinct_merchants":
                column = np.minimum(counts, 1 + rng.poisson(counts * spread[entity]))
            else:  # distinct countries
                column = np.minimum(counts, 1 + rng.poisson(counts * spread[entity] / 10))
        elif name.startswith("merchant_delayed_count"):
            days = WINDOW_DAYS[name.rsplit("_", 1)[1]]
            column = rng.poisson(per_day["merchant"] * days * 0.8).astype(np.float64)
        elif name.startswith("merchant_fraud_rate"):
            column = fraud_rate * rng.lognormal(0.0, 0.2, count)
        elif name == "amount_to_card_mean_7d":
            column = rng.lognormal(0.0, 0.7, count)
        elif name == "hour_of_day":
            column = rng.integers(0, 24, count).astype(np.float64)
        elif name.startswith("is_"):
            column = (rng.random(count) < (2 / 7 if "weekend" in name else 0.25)).astype(float)
        else:  # card_new_country, card_new_merchant, account_new_device
            column = (rng.random(count) < 0.1).astype(np.float64)
        columns.append(column)
    return np.column_stack(columns)


def embedder(dim: int, seed: int = 0) -> FeatureEmbedder:
    """`features/1` fitted the product's way (z-scores on a 20,000-record sample)."""
    sample = feature_rows(20_000, seed)
    rows = [dict(zip(FEATURE_NAMES, map(float, row), strict=True)) for row in sample]
    return FeatureEmbedder.from_params("1", dim, fit_feature_params(FEATURE_NAMES, rows))


def vectors(count: int, dim: int, seed: int, chunk: int = 50_000) -> npt.NDArray[np.float32]:
    """`count` unit vectors of the product's embedding over synthetic records."""
    embed = embedder(dim)
    out = np.empty((count, dim), np.float32)
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        out[start:stop] = embed.embed_matrix(feature_rows(stop - start, seed * 1_000 + start))
    return out
