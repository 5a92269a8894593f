"""The online store port: record a payment into every entity's windows, get aggregates back.

Adapters: `memory.MemoryOnlineStore` (embedded default, one process) and
`redis_store.RedisOnlineStore` (shared by API replicas). Both pass the same contract tests
(tests/features/contract.py) and share the flat reply layout below, so a reply means the
same thing whichever engine computed it.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol

from riskops.core.payment import Payment
from riskops.features.definitions import (
    DELAYED_WINDOWS,
    LABEL_DELAY,
    WINDOWS,
    DelayedStats,
    EntityAggregates,
    EntityKind,
    FeatureVector,
    RawAggregates,
    WindowStats,
    build_feature_vector,
    merchant_history,
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


def state_ttl(label_delay: timedelta = LABEL_DELAY) -> timedelta:
    """How long window state and replay markers outlive an entity's newest event.

    One day of slack past the longest history lets late arrivals still see an idle
    entity's events.
    """
    return merchant_history(label_delay) + timedelta(days=1)


STATE_TTL: Final = state_ttl()


class OnlineStore(Protocol):
    """Velocity state per card, account, device and merchant, on event time."""

    async def record(self, payment: Payment) -> RawAggregates:
        """Record the payment into every entity's windows atomically and return the aggregates.

        Idempotent per transaction id: recording it again records nothing and returns the
        aggregates of the first recording (flagged `replayed`), so a redelivery or a
        crash-replay cannot inflate velocity.
        """
        ...

    async def record_label(
        self, transaction_id: str, merchant_id: str, occurred_at: datetime, fraud: bool
    ) -> None:
        """Feed a transaction's label into its merchant's delayed fraud-rate windows.

        Idempotent per transaction id: the same label again changes nothing; a fraud label
        corrected to genuine is taken back. Only labels of payments older than the label
        delay are read by the windows, whenever they arrive.
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
# then has_device, card_new_country, card_new_merchant, account_new_device (0/1),
# then for each window in DELAYED_WINDOWS order: the merchant's payments, frauds.
FLAT_KINDS: Final = (EntityKind.CARD, EntityKind.ACCOUNT, EntityKind.DEVICE, EntityKind.MERCHANT)
_PER_ENTITY: Final = 4 * len(WINDOWS)
_FLAGS: Final = len(FLAT_KINDS) * _PER_ENTITY
FLAT_LENGTH: Final = _FLAGS + 4 + 2 * len(DELAYED_WINDOWS)
_DELAYED_AT: Final = tuple((name, _FLAGS + 4 + 2 * i) for i, name in enumerate(DELAYED_WINDOWS))
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
    flags = _FLAGS
    return RawAggregates(
        card=_entity(values, 0),
        account=_entity(values, _PER_ENTITY),
        device=_entity(values, 2 * _PER_ENTITY) if values[flags] else None,
        merchant=_entity(values, 3 * _PER_ENTITY),
        card_new_country=bool(values[flags + 1]),
        card_new_merchant=bool(values[flags + 2]),
        account_new_device=bool(values[flags + 3]),
        merchant_delayed={
            name: _new_tuple(DelayedStats, values[at : at + 2]) for name, at in _DELAYED_AT
        },
        replayed=replayed,
    )
