"""The OnlineStore contract: every adapter passes exactly these assertions.

Subclass `OnlineStoreContract` per adapter and provide the `store` fixture (a fresh, empty
store). The class name does not start with Test, so pytest only runs the subclasses.
"""

import asyncio
import random
from abc import ABC, abstractmethod
from datetime import timedelta

import pytest

from riskops.core.payment import Payment
from riskops.features import (
    FEATURE_NAMES,
    LABEL_DELAY,
    NOVELTY_RETENTION,
    WINDOWS,
    EntityAggregates,
    OnlineStore,
    RawAggregates,
    WindowStats,
    build_feature_vector,
    compute_features,
)
from tests.features.payments import T0, make_payment
from tests.features.reference import ReferenceStore

MICROSECOND = timedelta(microseconds=1)


def payments_in(stats: dict[str, WindowStats]) -> dict[str, int]:
    return {window: s.payments for window, s in stats.items()}


def totals(entity: EntityAggregates | None) -> dict[str, tuple[int, int]]:
    assert entity is not None
    return {window: (s.payments, s.amount_sum) for window, s in entity.windows.items()}


def assert_all_entities_agree(raw: RawAggregates) -> None:
    """When every payment shares card, account, merchant and device, so do the windows.

    Cards/accounts and merchants/devices are computed differently by the Redis adapter
    (scan versus running totals): this holds them to one answer.
    """
    expected = totals(raw.card)
    assert totals(raw.account) == expected
    assert totals(raw.merchant) == expected
    assert totals(raw.device) == expected


def shuffled_traffic(seed: int) -> list[Payment]:
    """Payments over fifty days, delivered late by seconds to forty days, some twice."""
    rng = random.Random(seed)
    planned = []
    for i in range(300):
        # Whole hours: ties and events exactly one window apart are common.
        at = T0 + timedelta(hours=rng.randrange(0, 50 * 24))
        delay = (
            rng.choices(
                [
                    timedelta(0),
                    timedelta(minutes=10),
                    timedelta(days=2),
                    timedelta(days=9),
                    timedelta(days=40),
                ],
                weights=[65, 15, 10, 5, 5],
            )[0]
            * rng.random()
        )
        payment = make_payment(
            at=at,
            amount=rng.choice([0, 1, 99, 1000, 25_000]),
            card=f"card-{rng.randrange(4)}",
            account=f"acct-{rng.randrange(3)}",
            merchant=f"merch-{rng.randrange(3)}",
            country=rng.choice(["FR", "DE", "ES"]),
            device=rng.choice(["dev-0", "dev-1", "dev-2", None]),
            txn=f"txn-{seed}-{i}",
        )
        planned.append((at + delay, i, payment))
    arrivals = [payment for _, _, payment in sorted(planned)]
    for _ in range(15):  # redeliveries shortly after the original
        index = rng.randrange(len(arrivals) - 10)
        arrivals.insert(index + rng.randrange(1, 10), arrivals[index])
    return arrivals


class OnlineStoreContract(ABC):
    @pytest.fixture
    @abstractmethod
    def store(self) -> OnlineStore:
        """A fresh, empty store of the adapter under test."""

    async def test_first_payment_counts_only_itself(self, store: OnlineStore) -> None:
        raw = await store.record(make_payment(amount=1234))

        assert raw.device is not None
        assert all(s == WindowStats(1, 1234, 0, 0) for s in raw.device.windows.values())
        assert all(s == WindowStats(1, 1234, 1, 1) for s in raw.card.windows.values())
        assert all(s == WindowStats(1, 1234, 1, 1) for s in raw.account.windows.values())
        assert all(s == WindowStats(1, 1234, 0, 0) for s in raw.merchant.windows.values())
        assert (raw.card_new_country, raw.card_new_merchant, raw.account_new_device) == (
            True,
            True,
            True,
        )
        assert not raw.replayed

    async def test_clear_forgets_windows_novelty_and_replay_markers(
        self, store: OnlineStore
    ) -> None:
        first = make_payment(amount=1234)
        await store.record(first)
        await store.record(make_payment(at=T0 + MICROSECOND, amount=1))
        await store.clear()
        # The same transaction again is a first recording, not a replay, and counts alone.
        raw = await store.record(first)
        assert not raw.replayed
        assert all(s == WindowStats(1, 1234, 1, 1) for s in raw.card.windows.values())
        assert raw.card_new_merchant and raw.account_new_device

    @pytest.mark.parametrize("window", list(WINDOWS))
    async def test_window_excludes_exactly_w_ago_and_includes_just_after(
        self, store: OnlineStore, window: str
    ) -> None:
        width = WINDOWS[window]
        await store.record(make_payment(at=T0 - width, amount=1))
        await store.record(make_payment(at=T0 - width + MICROSECOND, amount=10))

        raw = await store.record(make_payment(at=T0, amount=100))

        stats = raw.card.windows[window]
        assert (stats.payments, stats.amount_sum) == (2, 110)
        for other, other_width in WINDOWS.items():
            if other_width < width:  # both earlier events are outside the narrower windows
                assert raw.card.windows[other].payments == 1
        assert_all_entities_agree(raw)

    async def test_events_at_the_same_instant_are_inside(self, store: OnlineStore) -> None:
        await store.record(make_payment(at=T0, amount=5))

        raw = await store.record(make_payment(at=T0, amount=7))

        assert raw.card.windows["5m"] == WindowStats(2, 12, 1, 1)

    async def test_sums_and_means_per_window(self, store: OnlineStore) -> None:
        history = {timedelta(hours=2): 1000, timedelta(minutes=30): 300, timedelta(minutes=2): 200}
        for age, amount in history.items():
            await store.record(make_payment(at=T0 - age, amount=amount))

        raw = await store.record(make_payment(at=T0, amount=100))

        got = {w: (s.payments, s.amount_sum, s.amount_mean) for w, s in raw.card.windows.items()}
        assert got == {
            "5m": (2, 300, 150.0),
            "1h": (3, 600, 200.0),
            "24h": (4, 1600, 400.0),
            "7d": (4, 1600, 400.0),
            "30d": (4, 1600, 400.0),
        }

    async def test_late_arrival_is_outside_earlier_windows_and_inside_later_ones(
        self, store: OnlineStore
    ) -> None:
        await store.record(make_payment(at=T0, amount=100))

        # Arrives after the T0 payment but happened two minutes before it.
        late = await store.record(make_payment(at=T0 - timedelta(minutes=2), amount=20))
        after = await store.record(make_payment(at=T0 + timedelta(minutes=1), amount=3))

        assert payments_in(dict(late.card.windows)) == {
            "5m": 1,
            "1h": 1,
            "24h": 1,
            "7d": 1,
            "30d": 1,
        }
        assert late.card.windows["7d"].amount_sum == 20
        assert after.card.windows["5m"] == WindowStats(3, 123, 1, 1)
        # A new T0 payment sees the late one as history, and not the T0 + 1m one.
        same_instant = await store.record(make_payment(at=T0, amount=1000))
        assert same_instant.card.windows["5m"] == WindowStats(3, 1120, 1, 1)
        for raw in (late, after, same_instant):
            assert_all_entities_agree(raw)

    async def test_recording_a_transaction_again_returns_the_first_aggregates(
        self, store: OnlineStore
    ) -> None:
        payment = make_payment(at=T0, amount=500)
        first = await store.record(payment)
        await store.record(make_payment(at=T0 + timedelta(seconds=1), amount=7))

        again = await store.record(payment)
        following = await store.record(make_payment(at=T0 + timedelta(seconds=2), amount=1))

        assert again == first
        assert again.replayed
        assert not first.replayed
        assert again.card_new_country  # novelty as it was at the first recording
        assert following.card.windows["5m"] == WindowStats(3, 508, 1, 1)

    async def test_concurrent_deliveries_of_one_transaction_record_once(
        self, store: OnlineStore
    ) -> None:
        payment = make_payment(at=T0, amount=50)

        results = await asyncio.gather(*(store.record(payment) for _ in range(10)))
        following = await store.record(make_payment(at=T0, amount=1))

        assert sum(not r.replayed for r in results) == 1
        assert all(r == results[0] for r in results)
        assert following.card.windows["5m"].payments == 2

    async def test_concurrent_records_are_counted_exactly(self, store: OnlineStore) -> None:
        payments = [make_payment(at=T0, amount=i) for i in range(1, 51)]

        results = await asyncio.gather(*(store.record(p) for p in payments))

        # Serialised: each record saw a distinct number of predecessors, none lost.
        assert sorted(r.card.windows["1h"].payments for r in results) == list(range(1, 51))
        final = await store.record(make_payment(at=T0, amount=0))
        assert final.merchant.windows["5m"] == WindowStats(51, sum(range(1, 51)), 0, 0)

    async def test_distinct_merchants_and_countries(self, store: OnlineStore) -> None:
        history = [
            (timedelta(hours=3), "merch-1", "FR"),
            (timedelta(minutes=30), "merch-2", "DE"),
            (timedelta(minutes=3), "merch-1", "FR"),
            (timedelta(minutes=1), "merch-3", "FR"),
        ]
        for age, merchant, country in history:
            await store.record(make_payment(at=T0 - age, merchant=merchant, country=country))

        raw = await store.record(make_payment(at=T0, merchant="merch-2", country="ES"))

        distinct = {
            w: (s.distinct_merchants, s.distinct_countries) for w, s in raw.card.windows.items()
        }
        assert distinct == {
            "5m": (3, 2),
            "1h": (3, 3),
            "24h": (3, 3),
            "7d": (3, 3),
            "30d": (3, 3),
        }
        assert raw.account.windows == raw.card.windows
        assert raw.merchant.windows["7d"] == WindowStats(2, 2000, 0, 0)

    async def test_novelty_flags_are_evaluated_before_recording(self, store: OnlineStore) -> None:
        steps = [
            # (merchant, country, device) -> (new country, new merchant, new device)
            (("merch-1", "FR", "dev-1"), (True, True, True)),
            (("merch-1", "FR", "dev-1"), (False, False, False)),
            (("merch-2", "FR", "dev-1"), (False, True, False)),
            (("merch-1", "DE", "dev-2"), (True, False, True)),
            (("merch-2", "DE", None), (False, False, False)),
            (("merch-2", "DE", "dev-2"), (False, False, False)),
        ]
        for minute, ((merchant, country, device), expected) in enumerate(steps):
            payment = make_payment(
                at=T0 + timedelta(minutes=minute), merchant=merchant, country=country, device=device
            )
            raw = await store.record(payment)
            flags = (raw.card_new_country, raw.card_new_merchant, raw.account_new_device)
            assert flags == expected, f"step {minute}: {payment}"

    async def test_novelty_is_forgotten_after_the_retention(self, store: OnlineStore) -> None:
        await store.record(make_payment(at=T0, country="FR", device="dev-1"))
        await store.record(
            make_payment(
                at=T0 + NOVELTY_RETENTION - timedelta(minutes=1), country="DE", device="dev-2"
            )
        )

        later = T0 + NOVELTY_RETENTION + timedelta(minutes=1)
        fr = await store.record(make_payment(at=later, country="FR", device="dev-2"))
        de = await store.record(make_payment(at=later, country="DE", device="dev-1"))

        assert fr.card_new_country  # FR last seen more than the retention ago
        assert not de.card_new_country  # DE seen a minute inside it
        assert not fr.account_new_device
        assert de.account_new_device  # dev-1 last used at T0

    async def test_payment_without_device_has_no_device_aggregates(
        self, store: OnlineStore
    ) -> None:
        await store.record(make_payment(at=T0, device=None))

        raw = await store.record(make_payment(at=T0, device=None))
        with_device = await store.record(make_payment(at=T0, device="dev-9"))

        assert raw.device is None
        assert not raw.account_new_device
        assert raw.card.windows["5m"].payments == 2
        assert with_device.device is not None
        assert with_device.device.windows["5m"].payments == 1

    async def test_entities_are_isolated(self, store: OnlineStore) -> None:
        await store.record(make_payment(at=T0, card="card-1", device="dev-1"))

        raw = await store.record(make_payment(at=T0, card="card-2", device="dev-2"))
        other_merchant = await store.record(
            make_payment(at=T0, card="card-3", account="acct-2", merchant="merch-2")
        )

        assert raw.card.windows["5m"].payments == 1
        assert raw.card_new_country  # card-1 paid in FR, card-2 never did
        assert raw.account.windows["5m"].payments == 2
        assert raw.merchant.windows["5m"].payments == 2
        assert raw.device is not None
        assert raw.device.windows["5m"].payments == 1
        assert other_merchant.merchant.windows["5m"].payments == 1
        assert other_merchant.account.windows["5m"].payments == 1
        assert other_merchant.device is not None  # dev-1 again, now from another account
        assert other_merchant.device.windows["5m"].payments == 2
        assert other_merchant.account_new_device

    async def test_state_older_than_the_largest_window_expires(self, store: OnlineStore) -> None:
        largest = max(WINDOWS, key=WINDOWS.__getitem__)
        week = WINDOWS[largest]
        await store.record(make_payment(at=T0, amount=1))
        newest = await store.record(make_payment(at=T0 + week + timedelta(seconds=1), amount=2))
        # Both late: at or after T0 + 1s, i.e. at most the largest window before the newest.
        beyond = await store.record(make_payment(at=T0 + timedelta(seconds=1), amount=4))
        inside = await store.record(make_payment(at=T0 + timedelta(seconds=2), amount=8))
        last = await store.record(make_payment(at=T0 + week + timedelta(seconds=2), amount=16))

        assert newest.card.windows[largest] == WindowStats(1, 2, 1, 1)
        assert beyond.card.windows[largest] == WindowStats(1, 4, 1, 1)  # counts only itself
        # The T0 payment is expired (more than the largest window before the newest): out.
        assert inside.card.windows[largest] == WindowStats(1, 8, 1, 1)
        # Exactly the largest window after `inside`: out; `newest` and itself: in.
        assert last.card.windows[largest] == WindowStats(2, 18, 1, 1)
        for raw in (newest, beyond, inside, last):
            assert_all_entities_agree(raw)

    @pytest.mark.parametrize("seed", [1, 2, 3])
    async def test_agrees_with_the_brute_force_reference_on_shuffled_traffic(
        self, store: OnlineStore, seed: int
    ) -> None:
        reference = ReferenceStore()
        rng = random.Random(seed)
        recorded: list[Payment] = []

        for position, payment in enumerate(shuffled_traffic(seed)):
            got = await store.record(payment)
            expected = reference.record(payment)
            assert got == expected, f"arrival {position}: {payment}"
            assert got.replayed == expected.replayed
            recorded.append(payment)
            # Labels arrive at any time for any recorded payment: repeated, and corrected.
            for _ in range(rng.choice([0, 0, 1, 2])):
                labelled = rng.choice(recorded)
                fraud = rng.random() < 0.6
                args = (labelled.transaction_id, labelled.merchant_id, labelled.occurred_at)
                await store.record_label(*args, fraud)
                reference.record_label(*args, fraud)

    async def test_the_decision_paths_vector_equals_the_reference_definitions(
        self, store: OnlineStore
    ) -> None:
        """compute_features reads the flat reply directly: same keys, order, values, types."""
        reference = ReferenceStore()
        rng = random.Random(4)
        for position, payment in enumerate(shuffled_traffic(4)):
            vector = await compute_features(store, payment)
            expected = build_feature_vector(payment, reference.record(payment))
            assert list(vector.items()) == list(expected.items()), f"arrival {position}"
            assert [type(v) for v in vector.values()] == [type(v) for v in expected.values()]
            if rng.random() < 0.5:
                args = (payment.transaction_id, payment.merchant_id, payment.occurred_at)
                await store.record_label(*args, True)
                reference.record_label(*args, True)

    async def test_delayed_merchant_windows_count_payments_and_fraud_labels(
        self, store: OnlineStore
    ) -> None:
        end = T0 - LABEL_DELAY
        # (offset from the delayed window's end, labelled fraud)
        history = [
            (timedelta(hours=-12), True),
            (timedelta(days=-2), False),
            (timedelta(days=-10), True),
            (timedelta(0), False),  # exactly at the end: in
            (MICROSECOND, True),  # after it: not yet known, out
            (timedelta(days=-1), False),  # exactly a day before the end: out of 1d
        ]
        for i, (offset, fraud) in enumerate(history):
            payment = make_payment(at=end + offset, card=f"card-{i}", merchant="m-d")
            await store.record(payment)
            await store.record_label(
                payment.transaction_id, "m-d", payment.occurred_at, fraud=fraud
            )

        vector = await compute_features(store, make_payment(at=T0, merchant="m-d"))

        delayed = [
            (vector[f"merchant_delayed_count_{w}"], vector[f"merchant_fraud_rate_{w}"])
            for w in ("1d", "7d", "30d")
        ]
        assert delayed == [(2, 0.5), (4, 0.25), (5, 0.4)]
        assert tuple(vector) == FEATURE_NAMES

    async def test_labels_are_idempotent_and_corrections_take_them_back(
        self, store: OnlineStore
    ) -> None:
        old = make_payment(at=T0 - LABEL_DELAY - timedelta(hours=1), card="card-x")
        await store.record(old)

        async def frauds_seen() -> tuple[int, int]:
            raw = await store.record(make_payment(at=T0))
            stats = raw.merchant_delayed["1d"]
            return stats.payments, stats.frauds

        await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, True)
        await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, True)
        assert await frauds_seen() == (1, 1)
        await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, False)
        assert await frauds_seen() == (1, 0)
        await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, False)
        assert await frauds_seen() == (1, 0)
        assert (await store.record(make_payment(at=T0, merchant="other"))).merchant_delayed[
            "1d"
        ] == (0, 0)

    async def test_handbook_night_flag_ends_an_hour_after_is_night(
        self, store: OnlineStore
    ) -> None:
        six = T0.replace(hour=6, minute=30)
        vector = await compute_features(store, make_payment(at=six))
        assert (vector["is_night"], vector["is_night_0_6"]) == (0, 1)
        seven = await compute_features(store, make_payment(at=six.replace(hour=7)))
        assert (seven["is_night"], seven["is_night_0_6"]) == (0, 0)

    async def test_feature_vector_from_the_store(self, store: OnlineStore) -> None:
        for amount in (100, 300):
            await store.record(make_payment(at=T0 - timedelta(days=1), amount=amount))

        vector = await compute_features(store, make_payment(at=T0, amount=400))

        assert tuple(vector) == FEATURE_NAMES
        assert vector["amount_to_card_mean_7d"] == 2.0
        assert vector["card_count_7d"] == 3
        assert vector["card_count_24h"] == 1  # exactly a day ago is out
        assert vector["card_amount_mean_7d"] == pytest.approx(800 / 3)
        assert (vector["card_new_country"], vector["hour_of_day"], vector["is_weekend"]) == (
            0,
            12,
            0,
        )

    async def test_ping(self, store: OnlineStore) -> None:
        await store.ping()
