"""The pure feature definitions, table-driven with hand-computed values."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from riskops.features import (
    FEATURE_DESCRIPTIONS,
    FEATURE_NAMES,
    WINDOWS,
    EntityAggregates,
    RawAggregates,
    WindowStats,
    build_feature_vector,
)
from riskops.features.definitions import (
    DELAYED_WINDOWS,
    DelayedStats,
    amount_to_mean_ratio,
    calendar_features,
    event_time_us,
)
from tests.features.payments import T0, make_payment

PLUS_TWO = timezone(timedelta(hours=2))
MINUS_THREE = timezone(timedelta(hours=-3))


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        pytest.param(datetime(2025, 1, 6, 12, 0, tzinfo=UTC), (12, 0, 0), id="monday-noon"),
        pytest.param(datetime(2025, 1, 6, 0, 0, tzinfo=UTC), (0, 0, 1), id="midnight-is-night"),
        pytest.param(datetime(2025, 1, 6, 5, 59, tzinfo=UTC), (5, 0, 1), id="last-night-minute"),
        pytest.param(datetime(2025, 1, 6, 6, 0, tzinfo=UTC), (6, 0, 0), id="six-is-morning"),
        pytest.param(datetime(2025, 1, 11, 23, 59, tzinfo=UTC), (23, 1, 0), id="saturday"),
        pytest.param(datetime(2025, 1, 12, 3, 0, tzinfo=UTC), (3, 1, 1), id="sunday-night"),
        pytest.param(datetime(2025, 1, 13, 0, 0, tzinfo=UTC), (0, 0, 1), id="monday-again"),
        # Local Saturday 01:30 at +02:00 is Friday 23:30 UTC: UTC decides.
        pytest.param(datetime(2025, 1, 11, 1, 30, tzinfo=PLUS_TWO), (23, 0, 0), id="utc-decides"),
        pytest.param(datetime(2025, 1, 10, 23, 0, tzinfo=MINUS_THREE), (2, 1, 1), id="utc-west"),
    ],
)
def test_calendar_features(occurred_at: datetime, expected: tuple[int, int, int]) -> None:
    assert calendar_features(occurred_at) == expected


@pytest.mark.parametrize(
    ("amount", "previous_sum", "previous_count", "expected"),
    [
        pytest.param(500, 0, 0, 1.0, id="no-history"),
        pytest.param(400, 600, 3, 2.0, id="twice-the-mean"),
        pytest.param(100, 1000, 4, 0.4, id="below-the-mean"),
        pytest.param(0, 300, 2, 0.0, id="zero-amount"),
        pytest.param(250, 0, 3, 250.0, id="zero-mean-floored-at-one-minor-unit"),
        pytest.param(30, 1, 2, 30.0, id="sub-unit-mean-floored"),
    ],
)
def test_amount_to_mean_ratio(
    amount: int, previous_sum: int, previous_count: int, expected: float
) -> None:
    assert amount_to_mean_ratio(amount, previous_sum, previous_count) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        pytest.param(WindowStats(0, 0), 0.0, id="empty"),
        pytest.param(WindowStats(1, 1234), 1234.0, id="one"),
        pytest.param(WindowStats(3, 1000), 1000 / 3, id="fraction"),
    ],
)
def test_amount_mean(stats: WindowStats, expected: float) -> None:
    assert stats.amount_mean == pytest.approx(expected)


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        pytest.param(datetime(1970, 1, 1, tzinfo=UTC), 0, id="epoch"),
        pytest.param(
            datetime(2025, 1, 6, 12, 0, 0, 123457, tzinfo=UTC), 1736164800123457, id="exact-us"
        ),
        pytest.param(datetime(2025, 1, 6, 14, 0, tzinfo=PLUS_TWO), 1736164800000000, id="offset"),
    ],
)
def test_event_time_is_integer_microseconds(occurred_at: datetime, expected: int) -> None:
    assert event_time_us(occurred_at) == expected


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event_time_us(datetime(2025, 1, 6, 12, 0))


def test_windows_ascend() -> None:
    # Stores rely on it: each window extends the previous one further back in time.
    widths = list(WINDOWS.values())
    assert widths == sorted(widths)
    assert len(set(widths)) == len(widths)


def test_feature_names_are_stable_and_described() -> None:
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == 97
    assert set(FEATURE_DESCRIPTIONS) == set(FEATURE_NAMES)
    assert FEATURE_NAMES[:5] == (
        "card_count_5m",
        "card_amount_sum_5m",
        "card_amount_mean_5m",
        "card_distinct_merchants_5m",
        "card_distinct_countries_5m",
    )
    assert FEATURE_NAMES[-17:] == (
        "amount_to_card_mean_7d",
        "card_new_country",
        "card_new_merchant",
        "account_new_device",
        "hour_of_day",
        "is_weekend",
        "is_night",
        # Added after the first models: appended, so earlier names keep their positions.
        "merchant_delayed_count_1d",
        "merchant_fraud_rate_1d",
        "merchant_delayed_count_7d",
        "merchant_fraud_rate_7d",
        "merchant_delayed_count_30d",
        "merchant_fraud_rate_30d",
        "is_night_0_6",
        # Spending-profile deviations, for the prequential benchmark (issue 15).
        "amount",
        "amount_to_card_mean_30d",
        "amount_to_card_habit",
    )
    for name in (
        "account_distinct_merchants_7d",
        "merchant_count_24h",
        "device_count_1h",
        "merchant_amount_mean_7d",
        "card_count_30d",
        "card_amount_mean_30d",
    ):
        assert name in FEATURE_NAMES
    assert "merchant_distinct_merchants_7d" not in FEATURE_NAMES
    assert FEATURE_DESCRIPTIONS["card_count_1h"] == (
        "Payments on this card in the last hour, this one included"
    )


def entity(per_window: dict[str, WindowStats]) -> EntityAggregates:
    return EntityAggregates({w: per_window.get(w, WindowStats(0, 0)) for w in WINDOWS})


NO_DELAYED = {w: DelayedStats(0, 0) for w in DELAYED_WINDOWS}


def test_feature_vector_from_raw_aggregates() -> None:
    payment = make_payment(at=datetime(2025, 1, 11, 3, 15, tzinfo=UTC), amount=900, device=None)
    raw = RawAggregates(
        card=entity(
            {
                "5m": WindowStats(2, 1000, 2, 1),
                "1h": WindowStats(3, 1300, 2, 2),
                "24h": WindowStats(4, 1500, 3, 2),
                "7d": WindowStats(4, 1500, 3, 2),
                "30d": WindowStats(10, 4500, 5, 3),
            }
        ),
        account=entity({w: WindowStats(5, 2500, 4, 3) for w in WINDOWS}),
        merchant=entity({"5m": WindowStats(7, 7000), "7d": WindowStats(70, 7000)}),
        device=None,
        card_new_country=False,
        card_new_merchant=True,
        account_new_device=False,
        merchant_delayed={
            "1d": DelayedStats(4, 1),
            "7d": DelayedStats(0, 0),
            "30d": DelayedStats(2, 5),  # more labels than payments left: capped at 1
        },
    )

    vector = build_feature_vector(payment, raw)

    assert tuple(vector) == FEATURE_NAMES
    expected: dict[str, float | int] = {
        "card_count_5m": 2,
        "card_amount_sum_5m": 1000,
        "card_amount_mean_5m": 500.0,
        "card_distinct_merchants_1h": 2,
        "card_distinct_countries_24h": 2,
        "card_amount_mean_1h": 1300 / 3,
        "account_amount_mean_7d": 500.0,
        "account_distinct_merchants_7d": 4,
        "merchant_count_5m": 7,
        "merchant_amount_mean_7d": 100.0,
        "merchant_count_1h": 0,
        "merchant_amount_mean_1h": 0.0,
        "device_count_5m": 0,
        "device_amount_sum_7d": 0,
        "device_amount_mean_7d": 0.0,
        # previous card payments in 7d: 3 summing 600, mean 200
        "amount_to_card_mean_7d": 4.5,
        "card_new_country": 0,
        "card_new_merchant": 1,
        "account_new_device": 0,
        "hour_of_day": 3,
        "is_weekend": 1,
        "is_night": 1,
        "merchant_delayed_count_1d": 4,
        "merchant_fraud_rate_1d": 0.25,
        "merchant_delayed_count_7d": 0,
        "merchant_fraud_rate_7d": 0.0,
        "merchant_fraud_rate_30d": 1.0,
        "is_night_0_6": 1,
        "amount": 900,
        # previous card payments in 30d: 9 summing 3600, mean 400
        "amount_to_card_mean_30d": 2.25,
        # between 30 and 7 days ago: 6 payments summing 3000, mean 500
        "amount_to_card_habit": 1.8,
    }
    assert {name: vector[name] for name in expected} == pytest.approx(expected)
    for name, value in vector.items():
        # Means and ratios are floats; counts, sums, distincts and flags are ints.
        wants_float = "_mean_" in name or "_rate_" in name or name.startswith("amount_to_")
        assert type(value) is (float if wants_float else int), name


def test_replayed_flag_does_not_change_equality() -> None:
    card = entity({w: WindowStats(1, 10, 1, 1) for w in WINDOWS})
    first = RawAggregates(card, card, card, None, True, True, False, NO_DELAYED)
    replay = RawAggregates(card, card, card, None, True, True, False, NO_DELAYED, replayed=True)

    assert first == replay
    assert first != RawAggregates(card, card, card, None, False, True, False, NO_DELAYED)


def test_first_payment_ratio_is_one() -> None:
    card = entity({w: WindowStats(1, 700, 1, 1) for w in WINDOWS})
    raw = RawAggregates(card, card, card, None, True, True, False, NO_DELAYED)

    vector = build_feature_vector(make_payment(at=T0, amount=700), raw)
    assert vector["amount_to_card_mean_7d"] == 1.0
    assert vector["amount_to_card_mean_30d"] == vector["amount_to_card_habit"] == 1.0
