"""The flat reply layout both online stores return, and the feature vector read straight off it.

`decode_aggregates` turns a reply into typed `RawAggregates` (what tests, training and the
definitions' `build_feature_vector` read). The decision path does not need that detour:
`vector_from_values` builds the identical vector (same keys, order, values and types, held
to `build_feature_vector` by tests/features/test_flat.py) with a plan computed once here.
Going through the typed aggregates cost ~50 us a payment (some 30 small objects, then a
loop of per-window dict writes); the plan does it in C-level steps in ~10 us, measured with
benchmarks/stages.py.
"""

from collections.abc import Sequence
from operator import itemgetter
from typing import Final

from riskops.core.payment import Payment
from riskops.features.definitions import (
    DELAYED_WINDOWS,
    FEATURE_NAMES,
    WINDOW_FEATURE_NAMES,
    WINDOWS,
    DelayedStats,
    EntityAggregates,
    EntityKind,
    FeatureVector,
    RawAggregates,
    WindowStats,
    amount_to_mean_ratio,
    calendar_features,
)

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


def _check_length(values: Sequence[int]) -> None:
    if len(values) != FLAT_LENGTH:
        raise ValueError(f"expected {FLAT_LENGTH} values in a store reply, got {len(values)}")


def decode_aggregates(values: Sequence[int], *, replayed: bool) -> RawAggregates:
    """Turn a flat reply (see the layout above) into RawAggregates."""
    _check_length(values)
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


# The plan. Values are gathered into one "source" list: the reply itself, then the 20 window
# means, then the payment-level features; one itemgetter then picks FEATURE_NAMES' order.
def _plan() -> tuple[list[int], dict[str, int]]:
    """(reply offsets of the (count, sum) pairs, source position of every feature name)."""
    pairs: list[int] = []
    position: dict[str, int] = {}
    means = FLAT_LENGTH
    for block, kind in enumerate(FLAT_KINDS):
        for window, names in WINDOW_FEATURE_NAMES[kind].items():
            at = block * _PER_ENTITY + 4 * list(WINDOWS).index(window)
            position[names.payments] = at
            position[names.amount_sum] = at + 1
            position[names.amount_mean] = means + len(pairs)
            if names.distinct_merchants and names.distinct_countries:
                position[names.distinct_merchants] = at + 2
                position[names.distinct_countries] = at + 3
            pairs.append(at)
    tail = means + len(pairs)
    for offset, name in enumerate(_PAYMENT_LEVEL):
        position[name] = tail + offset
    return pairs, position


# The order `vector_from_values` appends the payment-level features to the source list.
_PAYMENT_LEVEL: Final = (
    "amount_to_card_mean_7d",
    "card_new_country",
    "card_new_merchant",
    "account_new_device",
    "hour_of_day",
    "is_weekend",
    "is_night",
    "is_night_0_6",
    "amount",
    "amount_to_card_mean_30d",
    "amount_to_card_habit",
    *(f"merchant_delayed_count_{w}" for w in DELAYED_WINDOWS),
    *(f"merchant_fraud_rate_{w}" for w in DELAYED_WINDOWS),
)
_PAIRS, _POSITION = _plan()
if set(_POSITION) != set(FEATURE_NAMES):  # a new feature must get a place in the plan
    raise AssertionError(f"flat plan misses {set(FEATURE_NAMES) ^ set(_POSITION)}")
_COUNTS: Final = itemgetter(*_PAIRS)
_SUMS: Final = itemgetter(*(at + 1 for at in _PAIRS))
_ORDER: Final = itemgetter(*(_POSITION[name] for name in FEATURE_NAMES))
_CARD_WEEK: Final = 4 * list(WINDOWS).index("7d")  # the card block comes first
_CARD_MONTH: Final = 4 * list(WINDOWS).index("30d")
_DEVICE: Final = slice(2 * _PER_ENTITY, 3 * _PER_ENTITY)
_NO_DEVICE: Final = [0] * _PER_ENTITY
_DELAYED: Final = itemgetter(*(at for _, at in _DELAYED_AT))
_FRAUDS: Final = itemgetter(*(at + 1 for _, at in _DELAYED_AT))


def vector_from_values(payment: Payment, values: Sequence[int]) -> FeatureVector:
    """`build_feature_vector(payment, decode_aggregates(values, ...))`, without the detour."""
    _check_length(values)
    source: list[float | int] = list(values)
    flags = _FLAGS
    if not source[flags]:  # no device: its windows read as empty, as decode_aggregates says
        source[_DEVICE] = _NO_DEVICE
    source += [s / c if c else 0.0 for c, s in zip(_COUNTS(source), _SUMS(source), strict=True)]
    amount = payment.amount_minor
    week_payments, week_sum = values[_CARD_WEEK], values[_CARD_WEEK + 1]  # this one included
    month_payments, month_sum = values[_CARD_MONTH], values[_CARD_MONTH + 1]
    hour, weekend, night = calendar_features(payment.occurred_at)
    delayed = _DELAYED(source)
    source += (
        amount_to_mean_ratio(amount, week_sum - amount, week_payments - 1),
        1 if source[flags + 1] else 0,
        1 if source[flags + 2] else 0,
        1 if source[flags + 3] else 0,
        hour,
        weekend,
        night,
        int(hour <= 6),
        amount,
        amount_to_mean_ratio(amount, month_sum - amount, month_payments - 1),
        amount_to_mean_ratio(amount, month_sum - week_sum, month_payments - week_payments),
        *delayed,
    )
    source += [
        min(frauds / payments, 1.0) if payments else 0.0
        for payments, frauds in zip(delayed, _FRAUDS(source), strict=True)
    ]
    return dict(zip(FEATURE_NAMES, _ORDER(source), strict=True))
