"""The in-process adapter: the contract, plus what only it promises (GC-light, snapshots)."""

import base64
import gc
import random
import struct
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from riskops.features import WINDOWS, MemoryOnlineStore, WindowStats
from riskops.features.definitions import event_time_us
from riskops.features.flat import FLAT_KINDS, FLAT_LENGTH
from riskops.features.memory import _NARROW_KEPT, _narrow_values, _pack_reply, _unpack_reply
from tests.features.contract import OnlineStoreContract
from tests.features.payments import T0, make_payment


class TestMemoryOnlineStore(OnlineStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[MemoryOnlineStore]:
        store = MemoryOnlineStore()
        yield store
        await store.close()


def test_state_adds_no_objects_for_the_garbage_collector() -> None:
    store = MemoryOnlineStore()
    store.record_sync(make_payment())
    gc.collect()
    before = len(gc.get_objects())

    for i in range(2000):
        store.record_sync(
            make_payment(
                at=T0 + timedelta(seconds=i),
                card=f"card-{i}",
                account=f"acct-{i % 500}",
                merchant=f"merch-{i % 50}",
                device=f"dev-{i}",
            )
        )
    gc.collect()

    # 2000 cards, 500 accounts, 2000 devices, 50 merchants and their novelty memory:
    # none of it may be a container the collector has to walk.
    assert len(gc.get_objects()) - before < 50
    assert store.stats().entities == 2000 + 500 + 2000 + 50


def test_expired_events_are_compacted_away() -> None:
    store = MemoryOnlineStore()

    for day in range(240):
        store.record_sync(make_payment(at=T0 + timedelta(days=day), device=None))

    # Card and account keep about a month, the merchant a month past the label delay (its
    # delayed windows), compacted in batches: far from 240 days each.
    assert store.stats().events <= 2 * 2 * 31 + 2 * 38


def test_idle_entities_and_old_novelty_are_swept() -> None:
    store = MemoryOnlineStore(novelty_retention=timedelta(days=3))
    store.record_sync(make_payment(at=T0, card="idle", account="idle", merchant="idle"))
    store.record_sync(make_payment(at=T0, card="busy", account="busy", merchant="busy"))
    assert store.stats().entities == 7  # 3 per payment + the shared dev-1

    for day in range(1, 42):  # past the longest history (a merchant's) and a day of slack
        store.record_sync(
            make_payment(at=T0 + timedelta(days=day), card="busy", account="busy", merchant="busy")
        )

    stats = store.stats()
    assert stats.entities == 4  # the idle card, account and merchant are gone
    # busy: its one country, merchant and device; idle's entries are past the retention.
    assert stats.novelty_entries == 3


def test_replay_markers_outlive_the_largest_window() -> None:
    store = MemoryOnlineStore()
    payment = make_payment(at=T0)
    first = store.record_sync(payment)

    store.record_sync(make_payment(at=T0 + WINDOWS["7d"] + timedelta(hours=12), card="other"))

    again = store.record_sync(payment)
    assert again.replayed
    assert again == first


def test_snapshot_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "features.json"
    original = MemoryOnlineStore()
    seen = make_payment(at=T0, amount=100)
    original.record_sync(seen)
    original.record_sync(make_payment(at=T0 + timedelta(minutes=1), amount=200, country="DE"))
    original.snapshot(path)

    restored = MemoryOnlineStore()
    restored.restore(path)

    probe = make_payment(at=T0 + timedelta(minutes=2), amount=300, country="DE")
    assert restored.record_sync(probe) == original.record_sync(probe)
    assert restored.record_sync(seen).replayed
    assert restored.stats() == original.stats()


async def test_close_persists_and_a_new_store_resumes(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "features.json"
    store = MemoryOnlineStore(snapshot_path=path)
    await store.record(make_payment(at=T0, amount=100))
    await store.close()

    resumed = MemoryOnlineStore(snapshot_path=path)
    raw = await resumed.record(make_payment(at=T0 + timedelta(minutes=1), amount=50))

    assert raw.card.windows["5m"] == WindowStats(2, 150, 1, 1)
    assert not raw.card_new_country
    assert not path.with_name(path.name + ".partial").exists()


def test_restore_refuses_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}')

    with pytest.raises(ValueError, match="snapshot"):
        MemoryOnlineStore().restore(path)


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MemoryOnlineStore().record_sync(make_payment(at=T0.replace(tzinfo=None)))


async def test_label_delay_is_configurable() -> None:
    store = MemoryOnlineStore(label_delay=timedelta(days=2))
    old = make_payment(at=T0 - timedelta(days=2, hours=1), card="c-old")
    await store.record(old)
    await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, True)

    raw = await store.record(make_payment(at=T0))

    assert raw.merchant_delayed["1d"] == (1, 1)  # a week's delay would see nothing yet


def test_a_version_1_snapshot_keeps_its_windows_and_drops_its_replay_markers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "features.json"
    original = MemoryOnlineStore()
    seen = make_payment(at=T0, amount=100)
    original.record_sync(seen)
    original.snapshot(path)
    state = orjson.loads(path.read_bytes())
    for key in ("frauds", "fraud_labels", "card_seen"):
        del state[key]
    # What version 1 wrote: replies in its shorter layout, no fraud labels, card pairs as keys.
    state.update(
        format="riskops.features.memory/1",
        replies=[{seen.transaction_id: "AAAA"}, {}],
        card_countries={},
        card_merchants={},
    )
    path.write_bytes(orjson.dumps(state))

    restored = MemoryOnlineStore(snapshot_path=path)

    probe = make_payment(at=T0 + timedelta(minutes=1), amount=50)
    assert restored.record_sync(probe).card.windows["5m"] == WindowStats(2, 150, 1, 1)
    assert restored.stats().replay_markers == 1  # the probe's own; the old one is gone


@pytest.mark.parametrize(
    ("amount", "stored_bytes"),
    [(1000, 157), (2**33, 428)],  # the narrowest layout, and the wide one when a sum outgrows it
)
def test_replay_markers_are_packed_narrow_or_wide_and_replay_exactly(
    tmp_path: Path, amount: int, stored_bytes: int
) -> None:
    store = MemoryOnlineStore()
    store.record_sync(make_payment(at=T0, amount=7, device=None))
    payment = make_payment(at=T0 + timedelta(minutes=1), amount=amount, country="DE")
    first = store.record_sync(payment)
    store.record_sync(make_payment(at=T0 + timedelta(minutes=2), amount=5))
    path = tmp_path / "features.json"
    store.snapshot(path)
    restored = MemoryOnlineStore(snapshot_path=path)

    assert {len(reply) for reply in store._replies.values()} >= {stored_bytes}
    for replaying in (store, restored):
        again = replaying.record_sync(payment)
        assert again.replayed
        assert again == first
        assert again.card.windows["5m"] == WindowStats(2, 7 + amount, 1, 2)


def test_a_version_3_snapshot_replays_its_198_byte_markers(tmp_path: Path) -> None:
    path = tmp_path / "features.json"
    original = MemoryOnlineStore()
    original.record_sync(make_payment(at=T0, amount=7))
    payment = make_payment(at=T0 + timedelta(minutes=1), amount=1000, country="DE")
    first = original.record_sync(payment)
    original.snapshot(path)
    state = orjson.loads(path.read_bytes())
    # What version 3 wrote: the same state, replies in its narrowest layout (198 bytes).
    version_3 = struct.Struct(
        "=" + ("HIBB" * 5 + "HIBB" * 5 + "HI" * 5 + "Iq" * 5) + "4B" + "II" * 3
    )
    state["format"] = "riskops.features.memory/3"
    for generation in state["replies"]:
        for txn, blob in generation.items():
            values = _narrow_values(_unpack_reply(base64.b64decode(blob)))
            generation[txn] = base64.b64encode(version_3.pack(*values)).decode()
    path.write_bytes(orjson.dumps(state))

    restored = MemoryOnlineStore(snapshot_path=path)

    assert {len(reply) for reply in restored._replies.values()} == {198}
    again = restored.record_sync(payment)
    assert again.replayed
    assert again == first


def test_a_version_2_snapshot_keeps_each_cards_countries_and_merchants(tmp_path: Path) -> None:
    path = tmp_path / "features.json"
    original = MemoryOnlineStore()
    original.record_sync(make_payment(at=T0, card="card-1", merchant="merch-1", country="FR"))
    original.snapshot(path)
    state = orjson.loads(path.read_bytes())
    del state["card_seen"]
    # What version 2 wrote: one "<card>\x1f<value>" key per pair, last seen in us.
    last = event_time_us(T0)
    state.update(
        format="riskops.features.memory/2",
        card_countries={"card-1\x1fFR": last, "card-2\x1fDE": last},
        card_merchants={"card-1\x1fmerch-1": last, "card-2\x1fmerch-9": last},
    )
    path.write_bytes(orjson.dumps(state))

    restored = MemoryOnlineStore(snapshot_path=path)

    later = T0 + timedelta(minutes=1)
    known = restored.record_sync(
        make_payment(at=later, card="card-2", merchant="merch-9", country="DE")
    )
    assert (known.card_new_country, known.card_new_merchant) == (False, False)
    other = restored.record_sync(
        make_payment(at=later, card="card-1", merchant="merch-9", country="DE")
    )
    assert (other.card_new_country, other.card_new_merchant) == (True, True)
    assert restored.stats().novelty_entries == 6 + 1  # the card pairs and one account device


def test_keys_kept_as_bytes_round_trip_any_str(tmp_path: Path) -> None:
    # Transaction ids and account/device pairs are kept as UTF-8 bytes: non-ASCII ids must
    # replay and survive a snapshot as the same str; a lone surrogate (which no snapshot can
    # hold, orjson refuses it) must still record and replay in memory, as a str key did.
    lone = make_payment(at=T0, txn="txn-\ud800", device="dev-\udfff")
    store = MemoryOnlineStore()
    first_lone = store.record_sync(lone)
    assert store.record_sync(lone).replayed
    assert store.record_sync(lone) == first_lone
    payment = make_payment(at=T0, txn="txn-é-ß", account="acct-ü", device="dev-ø")
    store = MemoryOnlineStore()
    first = store.record_sync(payment)
    path = tmp_path / "features.json"
    store.snapshot(path)
    restored = MemoryOnlineStore(snapshot_path=path)

    again = restored.record_sync(payment)
    assert again.replayed
    assert again == first
    later = make_payment(at=T0 + timedelta(minutes=1), account="acct-ü", device="dev-ø")
    assert not restored.record_sync(later).account_new_device


@pytest.mark.parametrize("seed", range(3))
def test_every_reply_layout_round_trips_exactly(seed: int) -> None:
    # Values at and past each narrow field's range: every reply comes back exactly, from
    # whichever layout (157, 177, 198 or 428 bytes) it fitted first.
    rng = random.Random(seed)
    counts = (0, 1, 255, 256, 65_535, 65_536, 2**32 - 1)  # the wide layout's range too
    sums = (*counts, 2**32, 2**40)
    windowed = len(FLAT_KINDS) * len(WINDOWS) * 4  # then 4 flags, then delayed counts
    sizes = set()
    for _ in range(2000):
        flat = [0] * FLAT_LENGTH
        for at in _NARROW_KEPT:
            if windowed <= at < windowed + 4:
                flat[at] = rng.randrange(2)
            elif rng.random() < 0.05:
                flat[at] = rng.choice(sums if at < windowed and at % 4 == 1 else counts)
            else:
                flat[at] = rng.randrange(200)
        blob = _pack_reply(flat)
        sizes.add(len(blob))
        assert _unpack_reply(blob) == flat
    assert sizes == {157, 177, 198, 428}
