"""Velocity features: definitions, the OnlineStore port and its two adapters.

The pipeline calls `compute_features(store, payment)` with a store from
`build_online_store`; training and backtests use the same definitions.
"""

from datetime import timedelta
from pathlib import Path
from typing import Literal

from riskops.features.definitions import (
    DELAYED_WINDOWS,
    FEATURE_DESCRIPTIONS,
    FEATURE_NAMES,
    LABEL_DELAY,
    MAX_WINDOW,
    NOVELTY_RETENTION,
    WINDOWS,
    EntityAggregates,
    EntityKind,
    FeatureVector,
    RawAggregates,
    WindowStats,
    build_feature_vector,
)
from riskops.features.memory import MemoryOnlineStore, MemoryStoreStats
from riskops.features.redis_store import DEFAULT_KEY_PREFIX, RedisOnlineStore
from riskops.features.store import OnlineStore, compute_features

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DELAYED_WINDOWS",
    "FEATURE_DESCRIPTIONS",
    "FEATURE_NAMES",
    "LABEL_DELAY",
    "MAX_WINDOW",
    "NOVELTY_RETENTION",
    "WINDOWS",
    "EntityAggregates",
    "EntityKind",
    "FeatureVector",
    "MemoryOnlineStore",
    "MemoryStoreStats",
    "OnlineStore",
    "RawAggregates",
    "RedisOnlineStore",
    "WindowStats",
    "build_feature_vector",
    "build_online_store",
    "compute_features",
]


def build_online_store(
    backend: Literal["memory", "redis"],
    redis_url: str,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    *,
    snapshot_path: Path | None = None,
    novelty_retention: timedelta = NOVELTY_RETENTION,
    label_delay: timedelta = LABEL_DELAY,
) -> OnlineStore:
    """The store the settings name. Nothing connects until first use.

    snapshot_path only concerns the memory backend: restored from if present, written on
    close (the embedded default points it into the `.riskops/` data folder).
    """
    if backend == "memory":
        return MemoryOnlineStore(
            novelty_retention=novelty_retention,
            label_delay=label_delay,
            snapshot_path=snapshot_path,
        )
    if backend == "redis":
        return RedisOnlineStore(
            redis_url,
            key_prefix=key_prefix,
            novelty_retention=novelty_retention,
            label_delay=label_delay,
        )
    raise ValueError(f"unknown online store backend {backend!r}; expected 'memory' or 'redis'")
