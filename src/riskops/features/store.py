"""The online store port: record a payment into every entity's windows, get aggregates back.

Adapters: `memory.MemoryOnlineStore` (embedded default, one process) and
`redis_store.RedisOnlineStore` (shared by API replicas). Both pass the same contract tests
(tests/features/contract.py) and share the flat reply layout below, so a reply means the
same thing whichever engine computed it.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Final, Protocol

from riskops.core.payment import Payment
from riskops.features.definitions import (
    MAX_WINDOW,
    WINDOWS,
    EntityAggregates,
    EntityKind,
    FeatureVector,
    RawAggregates,
    WindowStats,
    build_feature_vector,
)

__all__ = [
    "FLAT_KINDS",
    "FLAT_LENGTH",
    "STATE_TTL",
    "EntityAggregates",
    "OnlineStore",
    "RawAggregates",
    "WindowStats",
    "compute_features",
    "decode_aggregates",
]

# How long window state and replay markers outlive an entity's newest event. One day of
# slack past the largest window lets late arrivals still see an idle entity's history.
STATE_TTL: Final = MAX_WINDOW + timedelta(days=1)


class OnlineStore(Protocol):
    """Velocity state per card, account, device and merchant, on event time."""

    async def record(self, payment: Payment) -> RawAggregates:
        """Record the payment into every entity's windows atomically and return the aggregates.

        Idempotent per transaction id: recording it again records nothing and returns the
        aggregates of the first recording (flagged `replayed`), so a redelivery or a
        crash-replay cannot inflate velocity.
        """
        ...

    async def ping(self) -> None:
        """Raise if the store cannot serve (health checks)."""
        ...

    async def close(self) -> None:
        """Release connections, persist what the adapter persists."""
        ...


async def compute_features(store: OnlineStore, payment: Payment) -> FeatureVector:
    """Record the payment and return its feature vector: the call the pipeline makes."""
    return build_feature_vector(payment, await store.record(payment))


# Flat reply layout shared by the adapters (the Redis Lua script emits exactly this):
# for each kind in FLAT_KINDS, for each window in WINDOWS order:
#     payments (count), amount_sum, distinct_merchants, distinct_countries
# then has_device, card_new_country, card_new_merchant, account_new_device (0/1).
FLAT_KINDS: Final = (EntityKind.CARD, EntityKind.ACCOUNT, EntityKind.DEVICE, EntityKind.MERCHANT)
_PER_ENTITY: Final = 4 * len(WINDOWS)
FLAT_LENGTH: Final = len(FLAT_KINDS) * _PER_ENTITY + 4
_new_tuple = tuple.__new__  # builds WindowStats without NamedTuple.__new__'s overhead


# (window name, offset of its first value within an entity's block), per block start.
_BLOCKS: Final = {
    start: tuple((name, start + 4 * i) for i, name in enumerate(WINDOWS))
    for start in range(0, len(FLAT_KINDS) * _PER_ENTITY, _PER_ENTITY)
}


def _entity(values: Sequence[int], start: int) -> EntityAggregates:
    return EntityAggregates(
        {name: _new_tuple(WindowStats, values[at : at + 4]) for name, at in _BLOCKS[start]}
    )


def decode_aggregates(values: Sequence[int], *, replayed: bool) -> RawAggregates:
    """Turn a flat reply (see the layout above) into RawAggregates."""
    if len(values) != FLAT_LENGTH:
        raise ValueError(f"expected {FLAT_LENGTH} values in a store reply, got {len(values)}")
    flags = FLAT_LENGTH - 4
    return RawAggregates(
        card=_entity(values, 0),
        account=_entity(values, _PER_ENTITY),
        device=_entity(values, 2 * _PER_ENTITY) if values[flags] else None,
        merchant=_entity(values, 3 * _PER_ENTITY),
        card_new_country=bool(values[flags + 1]),
        card_new_merchant=bool(values[flags + 2]),
        account_new_device=bool(values[flags + 3]),
        replayed=replayed,
    )
