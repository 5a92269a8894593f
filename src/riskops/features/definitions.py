"""Feature definitions: the one place that says what every feature means.

Serving builds vectors with `build_feature_vector` from an online store's raw aggregates;
training and backtests replay history through the same stores and the same function, so
a feature can never mean one thing online and another offline.

Everything runs on EVENT time (`Payment.occurred_at`): a window for a payment at time t
covers events with t - w < ts <= t, the payment itself included; events that arrived
earlier but happened later are not in it. State more than the largest window older than an
entity's newest event is expired, so a payment arriving over a month late counts only
itself (a merchant keeps its events longer, for the delayed windows). First-seen flags ask
"was this pair recorded before this payment", in arrival order. Replaying history in event
order therefore yields exactly the values live traffic produced (where traffic arrived in
order).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final, NamedTuple

from riskops.core.payment import Payment

# Ordered: the order fixes FEATURE_NAMES, the stores' reply layout and model columns.
WINDOWS: Final[Mapping[str, timedelta]] = MappingProxyType(
    {
        "5m": timedelta(minutes=5),
        "1h": timedelta(hours=1),
        "24h": timedelta(hours=24),
        "7d": timedelta(days=7),
        # The handbook's longest customer window: habits over a month (and the state of
        # every entity is kept that long).
        "30d": timedelta(days=30),
    }
)
MAX_WINDOW: Final = max(WINDOWS.values())

# A merchant's fraud rate can only use labels that are known: fraud is reported days or
# weeks after the payment. Delayed windows cover (t - delay - w, t - delay], the handbook's
# terminal features; every payment in them counts, those labelled fraud make the rate.
LABEL_DELAY: Final = timedelta(days=7)
DELAYED_WINDOWS: Final[Mapping[str, timedelta]] = MappingProxyType(
    {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
)


def merchant_history(label_delay: timedelta) -> timedelta:
    """How far back a merchant's events (and fraud labels) are kept behind its newest one."""
    return max(MAX_WINDOW, max(DELAYED_WINDOWS.values()) + label_delay)


# "Ever seen" memory (new country, new merchant, new device) is bounded so that it cannot
# grow forever: a pair not seen for this long counts as new again. 90 days keeps the usual
# travel and shopping rhythm of a cardholder while forgetting churned devices and merchants.
NOVELTY_RETENTION: Final = timedelta(days=90)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class EntityKind(StrEnum):
    CARD = "card"
    ACCOUNT = "account"
    DEVICE = "device"
    MERCHANT = "merchant"


# Distinct merchants/countries only say something about who pays (a card or account
# spraying many merchants); for a merchant or a device they are noise, so only these carry them.
DISTINCT_KINDS: Final = frozenset({EntityKind.CARD, EntityKind.ACCOUNT})


class WindowStats(NamedTuple):
    """Raw statistics of one entity over one window, the current payment included."""

    payments: int  # the count: named so to keep tuple.count intact
    amount_sum: int  # minor units, summed as recorded (no currency conversion)
    distinct_merchants: int = 0  # only filled for DISTINCT_KINDS
    distinct_countries: int = 0

    @property
    def amount_mean(self) -> float:
        return self.amount_sum / self.payments if self.payments else 0.0


class DelayedStats(NamedTuple):
    """A merchant's payments in one delayed window and how many of them are labelled fraud."""

    payments: int
    frauds: int

    @property
    def fraud_rate(self) -> float:
        # Capped: a fraud label can outlive a payment that expired from the merchant's series.
        return min(self.frauds / self.payments, 1.0) if self.payments else 0.0


@dataclass(frozen=True, slots=True)
class EntityAggregates:
    """One entity's statistics, keyed by window name (the keys of WINDOWS)."""

    windows: Mapping[str, WindowStats]


@dataclass(frozen=True, slots=True)
class RawAggregates:
    """What an online store returns for one recorded payment; features derive from it."""

    card: EntityAggregates
    account: EntityAggregates
    merchant: EntityAggregates
    device: EntityAggregates | None  # None when the payment carries no device id
    # First-seen flags, evaluated before the payment itself was recorded.
    card_new_country: bool
    card_new_merchant: bool
    account_new_device: bool
    # The merchant's delayed windows (keys of DELAYED_WINDOWS), labels as known at record time.
    merchant_delayed: Mapping[str, DelayedStats]
    # True when this transaction id had been recorded before and these are the aggregates
    # of that first recording. Left out of equality: a replay returns "the same aggregates".
    replayed: bool = field(default=False, compare=False)


# A model sees features as numbers: counts, sums, distincts and flags are ints (flags 0/1),
# means and ratios are floats.
FeatureVector = dict[str, float | int]

_ENTITY_WORDS: Final = {
    EntityKind.CARD: "this card",
    EntityKind.ACCOUNT: "this account",
    EntityKind.DEVICE: "this device",
    EntityKind.MERCHANT: "this merchant",
}
_WINDOW_WORDS: Final = {
    "5m": "5 minutes",
    "1h": "hour",
    "24h": "24 hours",
    "7d": "7 days",
    "30d": "30 days",
}
_DELAYED_WORDS: Final = {"1d": "day", "7d": "7 days", "30d": "30 days"}


class _WindowNames(NamedTuple):
    payments: str
    amount_sum: str
    amount_mean: str
    distinct_merchants: str | None
    distinct_countries: str | None


def _window_names(kind: EntityKind, window: str) -> _WindowNames:
    distinct = kind in DISTINCT_KINDS
    return _WindowNames(
        payments=f"{kind}_count_{window}",
        amount_sum=f"{kind}_amount_sum_{window}",
        amount_mean=f"{kind}_amount_mean_{window}",
        distinct_merchants=f"{kind}_distinct_merchants_{window}" if distinct else None,
        distinct_countries=f"{kind}_distinct_countries_{window}" if distinct else None,
    )


def _describe() -> dict[str, str]:
    described: dict[str, str] = {}
    for kind in EntityKind:
        whom = _ENTITY_WORDS[kind]
        for window, names in _NAMES[kind].items():
            span = f"in the last {_WINDOW_WORDS[window]}"
            described[names.payments] = f"Payments on {whom} {span}, this one included"
            described[names.amount_sum] = f"Total amount (minor units) on {whom} {span}"
            described[names.amount_mean] = f"Mean payment amount on {whom} {span}"
            if names.distinct_merchants and names.distinct_countries:
                described[names.distinct_merchants] = f"Distinct merchants paid by {whom} {span}"
                described[names.distinct_countries] = (
                    f"Distinct merchant countries paid by {whom} {span}"
                )
    described.update(
        amount_to_card_mean_7d=(
            "Amount divided by the mean of the card's previous payments in the last 7 days "
            "(1.0 without history)"
        ),
        card_new_country="1 if the card had not paid in this merchant country before",
        card_new_merchant="1 if the card had not paid this merchant before",
        account_new_device="1 if the account had not used this device before",
        hour_of_day="Hour of the payment, UTC (0-23)",
        is_weekend="1 if the payment happened on a Saturday or Sunday, UTC",
        is_night="1 if the payment happened between 00:00 and 05:59 UTC",
    )
    for window, words in _DELAYED_WORDS.items():
        span = f"in the {words} before the label delay"
        described[f"merchant_delayed_count_{window}"] = f"Payments on this merchant {span}"
        described[f"merchant_fraud_rate_{window}"] = (
            f"Share of the payments on this merchant {span} labelled fraud (0 without any)"
        )
    # The handbook's TX_DURING_NIGHT ends an hour later than is_night (which rules use).
    described["is_night_0_6"] = "1 if the payment happened between 00:00 and 06:59 UTC"
    # Spending-profile deviations: a stolen card pays unusual amounts. The habit leaves out
    # the last week, so a compromise of the last days has not yet skewed the yardstick.
    described["amount"] = "Payment amount (minor units)"
    described["amount_to_card_mean_30d"] = (
        "Amount divided by the mean of the card's previous payments in the last 30 days "
        "(1.0 without history)"
    )
    described["amount_to_card_habit"] = (
        "Amount divided by the card's mean payment between 30 and 7 days ago, its habit "
        "before any recent compromise (1.0 without such history)"
    )
    return described


_NAMES: Final = {kind: {w: _window_names(kind, w) for w in WINDOWS} for kind in EntityKind}
# Per kind and window, the names of its features (None: a statistic the kind does not carry).
WINDOW_FEATURE_NAMES: Final[Mapping[EntityKind, Mapping[str, _WindowNames]]] = _NAMES
FEATURE_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(_describe())
# Dict order of _describe() is the stable feature order: entity, window, statistic, then
# the payment-level features. Models store their column list; it must match this.
FEATURE_NAMES: Final[tuple[str, ...]] = tuple(FEATURE_DESCRIPTIONS)

_NO_WINDOWS: Final = EntityAggregates({w: WindowStats(0, 0) for w in WINDOWS})
_DELAYED_NAMES: Final = tuple(
    (w, f"merchant_delayed_count_{w}", f"merchant_fraud_rate_{w}") for w in DELAYED_WINDOWS
)


def event_time_us(occurred_at: datetime) -> int:
    """Event time as integer microseconds since the epoch.

    Integers, not float seconds: window boundaries must be exact (an event exactly w old
    is out), and float subtraction would round some boundary events in or out.
    """
    if occurred_at.utcoffset() is None:
        raise ValueError(f"occurred_at must be timezone-aware, got {occurred_at!r}")
    return (occurred_at - _EPOCH) // _MICROSECOND


def duration_us(span: timedelta) -> int:
    return span // _MICROSECOND


def amount_to_mean_ratio(amount: int, previous_sum: int, previous_count: int) -> float:
    """Amount relative to the mean of the previous payments; 1.0 when there are none.

    The mean is floored at one minor unit so a history of zero-amount authorisations
    (typical of card testing) gives a large finite ratio instead of a division by zero.
    """
    if previous_count <= 0:
        return 1.0
    return amount / max(previous_sum / previous_count, 1.0)


def calendar_features(occurred_at: datetime) -> tuple[int, int, int]:
    """(hour_of_day, is_weekend, is_night) in UTC, so every region buckets alike."""
    utc = occurred_at.astimezone(UTC)
    hour = utc.hour
    return hour, int(utc.weekday() >= 5), int(hour <= 5)


def build_feature_vector(payment: Payment, raw: RawAggregates) -> FeatureVector:
    """The full feature vector of a payment, in FEATURE_NAMES order. Pure."""
    vector: FeatureVector = {}
    entities = (
        (EntityKind.CARD, raw.card),
        (EntityKind.ACCOUNT, raw.account),
        (EntityKind.DEVICE, raw.device or _NO_WINDOWS),
        (EntityKind.MERCHANT, raw.merchant),
    )
    for kind, aggregates in entities:
        names = _NAMES[kind]
        for window, named in names.items():
            payments, amount_sum, merchants, countries = aggregates.windows[window]
            vector[named.payments] = payments
            vector[named.amount_sum] = amount_sum
            vector[named.amount_mean] = amount_sum / payments if payments else 0.0
            if named.distinct_merchants and named.distinct_countries:
                vector[named.distinct_merchants] = merchants
                vector[named.distinct_countries] = countries
    # The card's 7d window includes this payment; the ratio compares with the ones before.
    card_week = raw.card.windows["7d"]
    vector["amount_to_card_mean_7d"] = amount_to_mean_ratio(
        payment.amount_minor,
        card_week.amount_sum - payment.amount_minor,
        card_week.payments - 1,
    )
    vector["card_new_country"] = int(raw.card_new_country)
    vector["card_new_merchant"] = int(raw.card_new_merchant)
    vector["account_new_device"] = int(raw.account_new_device)
    hour, weekend, night = calendar_features(payment.occurred_at)
    vector["hour_of_day"] = hour
    vector["is_weekend"] = weekend
    vector["is_night"] = night
    for window, count_name, rate_name in _DELAYED_NAMES:
        delayed = raw.merchant_delayed[window]
        vector[count_name] = delayed.payments
        vector[rate_name] = delayed.fraud_rate
    vector["is_night_0_6"] = int(hour <= 6)
    amount, card_month = payment.amount_minor, raw.card.windows["30d"]
    vector["amount"] = amount
    vector["amount_to_card_mean_30d"] = amount_to_mean_ratio(
        amount, card_month.amount_sum - amount, card_month.payments - 1
    )
    # The 30-day window contains the 7-day one (both count this payment): the difference is
    # the card's payments between 30 and 7 days ago.
    vector["amount_to_card_habit"] = amount_to_mean_ratio(
        amount,
        card_month.amount_sum - card_week.amount_sum,
        card_month.payments - card_week.payments,
    )
    return vector
