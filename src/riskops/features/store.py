"""The online store port: record a payment into every entity's windows, get aggregates back.

Adapters: `memory.MemoryOnlineStore` (embedded default, one process) and
`redis_store.RedisOnlineStore` (shared by API replicas). Both pass the same contract tests
(tests/features/contract.py) and share one flat reply layout (`flat`), so a reply means the
same thing whichever engine computed it.
"""

from datetime import datetime, timedelta
from typing import Final, Protocol

from riskops.core.payment import Payment
from riskops.features.definitions import (
    LABEL_DELAY,
    EntityAggregates,
    FeatureVector,
    RawAggregates,
    WindowStats,
    merchant_history,
)
from riskops.features.flat import FLAT_KINDS, FLAT_LENGTH, decode_aggregates, vector_from_values

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

    async def record_values(self, payment: Payment) -> list[int]:
        """`record`, answered in the flat layout (`flat`): what the decision path reads."""
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

    async def clear(self) -> None:
        """Forget all state: the facts it was built from were emptied (admin reset)."""
        ...

    async def close(self) -> None:
        """Release connections, persist what the adapter persists."""
        ...


async def compute_features(store: OnlineStore, payment: Payment) -> FeatureVector:
    """Record the payment and return its feature vector: the call the pipeline makes.

    Equal to `build_feature_vector(payment, await store.record(payment))`, built straight
    from the store's flat reply (see `flat`).
    """
    return vector_from_values(payment, await store.record_values(payment))
