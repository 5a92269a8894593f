"""In-process online store: the embedded default, for exactly one process.

Layout, chosen so the garbage collector never walks the state: the cyclic GC paused the
event loop for 180-220 ms when ~10k cards kept per-event Python objects. Here every entity
is ONE `bytearray` (not a GC-tracked type, unlike `array.array` on 3.11, which is):

    header  base: cumulative amount before the first record kept
    records ts_us, cumulative amount after the record, merchant code, country code

as native int64s, records sorted by event time. Window bounds are bisects over a strided
memoryview, sums are differences of the cumulative column (O(log n) even for a busy
merchant), distinct counts are sets over the window slice. Merchant ids and countries are
interned to ints; a card's novelty is one bytearray of (code, last seen) pairs, an
account's devices and the replay markers (replies packed narrow, see _narrow_layout) are
dicts of UTF-8 bytes -> int/bytes, which CPython keeps untracked too. So a full collection
costs the same with 10 or 10 million events. Per active card this is ~195 MB per 100,000
cards (benchmarks/feature_memory.py), about 40% of it replay markers (~280 bytes each,
key and dict slot included).

Memory is bounded by event time: expired events are compacted away, idle entities and
stale novelty are swept, replay markers rotate out. The intern table is the exception: it
keeps every merchant id and country ever seen (a few dozen bytes each).
"""

import asyncio
import base64
import os
import struct
import sys
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Final

import orjson

from riskops.core.payment import Payment
from riskops.features.definitions import (
    DELAYED_WINDOWS,
    DISTINCT_KINDS,
    LABEL_DELAY,
    MAX_WINDOW,
    NOVELTY_RETENTION,
    WINDOWS,
    EntityKind,
    RawAggregates,
    duration_us,
    event_time_us,
    merchant_history,
)
from riskops.features.flat import FLAT_KINDS, FLAT_LENGTH, decode_aggregates
from riskops.features.store import state_ttl

_RECORD: Final = struct.Struct("=4q")
_HEADER: Final = struct.Struct("=q")
_LAST: Final = struct.Struct("=2q")  # ts and cumulative amount of a record
_FIELDS: Final = 4  # int64s per record
_WINDOW_US: Final = tuple(duration_us(w) for w in WINDOWS.values())
_MAX_WINDOW_US: Final = duration_us(MAX_WINDOW)
_DELAYED_US: Final = tuple(duration_us(w) for w in DELAYED_WINDOWS.values())
# Replay markers are the bulk of the memory (a reply per payment): kept a week and a day,
# the largest short window plus slack, not the month the longest window would ask for.
_REPLAY_GENERATION_US: Final = duration_us(timedelta(days=8))
_TS: Final = struct.Struct("=q")  # one fraud label in a merchant's fraud series
# Sweeps for idle state start once per day of event time (novelty tables, whose retention
# is months, once a week) and advance _SWEEP_STEP keys per recorded payment: idle state
# lingers at most that much longer, and no single payment stalls on a full pass.
_SWEEP_EVERY_US: Final = duration_us(timedelta(days=1))
_NOVELTY_SWEEP_EVERY_US: Final = duration_us(timedelta(days=7))
_SWEEP_STEP: Final = 32
_NO_DEVICE: Final = (0, 0, 0, 0) * len(WINDOWS)
# A reply in store.py's flat layout, packed: counts and distincts fit 32 bits, sums take 64,
# flags 8. 428 bytes instead of 720 as int64s. The fallback for replies that no narrow
# layout can hold, and the layout of replay markers in snapshots written before them.
_REPLY: Final = struct.Struct(
    "=" + "IqII" * (len(FLAT_KINDS) * len(WINDOWS)) + "4B" + "II" * len(DELAYED_WINDOWS)
)


def _narrow_layout(
    *, count: str, merchant_sum: str, fraud_count: str
) -> tuple[struct.Struct, tuple[int, ...]]:
    """The usual reply in fewer bytes, and which flat positions it keeps.

    Replay markers are most of the store's memory (one per payment, kept 8 days or more).
    A card's, account's or device's month rarely passes 255 (`count` "B") or 65,535 ("H")
    payments, 2**32 minor units or 255 distinct merchants; a merchant's counts can pass
    65,535 and its sums 2**32, so its count stays "I" and its sum `merchant_sum`. Distinct
    counts of kinds outside DISTINCT_KINDS are always 0 and are not stored. struct refuses
    any value out of range, and that reply is stored in the next wider layout: exact
    either way.
    """
    fmt, kept = "=", list[int]()
    for block, kind in enumerate(FLAT_KINDS):
        for window in range(len(WINDOWS)):
            at = (block * len(WINDOWS) + window) * 4
            fmt += "I" + merchant_sum if kind is EntityKind.MERCHANT else count + "I"
            kept += (at, at + 1)
            if kind in DISTINCT_KINDS:
                fmt += "BB"
                kept += (at + 2, at + 3)
    fmt += "4B" + ("I" + fraud_count) * len(DELAYED_WINDOWS)
    kept += range(len(FLAT_KINDS) * len(WINDOWS) * 4, FLAT_LENGTH)
    return struct.Struct(fmt), tuple(kept)


_LONGEST: Final = max(WINDOWS, key=WINDOWS.__getitem__)
# Narrowest first: a reply is packed in the first layout its values fit. The 157-byte one
# makes a 192-byte bytes object (pymalloc rounds to 16), the 198-byte one 240: 48 bytes a
# marker. The 198-byte layout is the one snapshots of format 3 hold.
_NARROW_LAYOUTS: Final = tuple(
    _narrow_layout(count=count, merchant_sum=merchant_sum, fraud_count=fraud_count)[0]
    for count, merchant_sum, fraud_count in (
        ("B", "I", "H"),  # 157 bytes: the usual card, a merchant under 2**32 a month
        ("B", "q", "H"),  # 177 bytes: a merchant past 2**32 minor units a month
        ("H", "q", "I"),  # 198 bytes: a busy card or account
    )
)
_PAST_U32: Final = _NARROW_LAYOUTS[1:]
_U32_MAX: Final = 2**32 - 1
# Flat position of the merchant's sum over the longest window, its largest sum.
_MERCHANT_LONGEST_SUM: Final = (
    FLAT_KINDS.index(EntityKind.MERCHANT) * len(WINDOWS) + list(WINDOWS).index(_LONGEST)
) * 4 + 1
_NARROW_KEPT: Final = _narrow_layout(count="H", merchant_sum="q", fraud_count="I")[1]
_narrow_values: Final = itemgetter(*_NARROW_KEPT)
# Stored replies are told apart by their length alone.
_NARROW_BY_SIZE: Final = {layout.size: layout for layout in _NARROW_LAYOUTS}
if len(_NARROW_BY_SIZE) != len(_NARROW_LAYOUTS) or _REPLY.size in _NARROW_BY_SIZE:
    raise RuntimeError("the reply layouts must all differ in size")
_NO_DELAYED: Final = (0, 0) * len(DELAYED_WINDOWS)
_SNAPSHOT_FORMAT: Final = "riskops.features.memory/4"
# Version 3 is version 4 without the narrower reply layouts: it reads as is (replies are
# told apart by length), but a version 3 reader would refuse the new lengths.
_WIDER_REPLIES_FORMAT: Final = "riskops.features.memory/3"
# Version 2 kept a card's novelty as one "<card><SEP><country or merchant>" key per pair;
# it is regrouped per card. Version 1 also had shorter replies and no fraud labels: its
# windows and novelty carry over, its replay markers (in the old reply layout) are dropped.
_CARD_PAIRS_FORMAT: Final = "riskops.features.memory/2"
_PREVIOUS_FORMAT: Final = "riskops.features.memory/1"
# One pair of a card's novelty table: tagged code, last seen (event time, us).
_SEEN: Final = struct.Struct("=2q")
# Joins an entity id and a value into one str key: tuple keys would be GC-tracked.
_SEP: Final = "\x1f"


def _utf8(key: str) -> bytes:
    """A str key as the bytes the store keeps (exact for any str, lone surrogates too)."""
    return key.encode("utf-8", "surrogatepass")


def _prefix_sum(q: memoryview, index: int) -> int:
    """Cumulative amount of the records before `index` (q is the int64 view of a series)."""
    return q[0] if index == 0 else q[index * _FIELDS - 2]


def _pack_reply(flat: list[int]) -> bytes:
    values = _narrow_values(flat)
    # A busy merchant's month passes 2**32 minor units on every payment: skip the layout
    # it cannot fit without paying for the struct.error (~2 us) each time.
    big = flat[_MERCHANT_LONGEST_SUM] > _U32_MAX
    for layout in _PAST_U32 if big else _NARROW_LAYOUTS:
        try:
            return layout.pack(*values)
        except struct.error:  # a value past a field's range (or negative): try wider
            pass
    return _REPLY.pack(*flat)


def _unpack_reply(blob: bytes) -> list[int]:
    if len(blob) == _REPLY.size:
        return list(_REPLY.unpack(blob))
    flat = [0] * FLAT_LENGTH
    for at, value in zip(_NARROW_KEPT, _NARROW_BY_SIZE[len(blob)].unpack(blob), strict=True):
        flat[at] = value
    return flat


def _touch(pairs: memoryview, codes: list[int], code: int, t: int) -> int | None:
    """When `code` was last seen in a card's novelty pairs (None: never); moved up to t."""
    if code not in codes:
        return None
    at = codes.index(code) * 2 + 1
    last: int = pairs[at]
    if t > last:
        pairs[at] = t
    return last


def _newest_us(series: bytearray) -> int:
    newest: int = _HEADER.unpack_from(series, len(series) - _RECORD.size)[0]
    return newest


@dataclass(frozen=True, slots=True)
class MemoryStoreStats:
    entities: int
    events: int
    novelty_entries: int
    replay_markers: int


class MemoryOnlineStore:
    """OnlineStore kept in this process; persisted to a snapshot file on close if asked."""

    def __init__(
        self,
        *,
        novelty_retention: timedelta = NOVELTY_RETENTION,
        label_delay: timedelta = LABEL_DELAY,
        snapshot_path: Path | None = None,
    ) -> None:
        self._retention_us = duration_us(novelty_retention)
        self._delay_us = duration_us(label_delay)
        self._merchant_keep_us = duration_us(merchant_history(label_delay))
        self._state_ttl_us = duration_us(state_ttl(label_delay))
        self._snapshot_path = snapshot_path
        self._empty()
        if snapshot_path is not None and snapshot_path.exists():
            self.restore(snapshot_path)

    def _empty(self) -> None:
        self._series: dict[EntityKind, dict[str, bytearray]] = {kind: {} for kind in EntityKind}
        self._codes: dict[str, int] = {}
        # Per card, the countries and merchants it paid at, as _SEEN pairs: a country by
        # its code, a merchant by ~code (negative), so the two never meet. One bytearray per
        # card instead of a str key and a dict slot per pair: ~100 bytes less for each.
        self._card_seen: dict[str, bytearray] = {}
        # "<account><SEP><device>" as UTF-8 bytes: 16 bytes less per pair than a str.
        self._account_devices: dict[bytes, int] = {}
        # Fraud labels: per merchant a sorted int64 series of the labelled payments' event
        # times; per transaction "<ts><SEP><merchant>", so a label is counted once and a
        # correction to genuine can take it back. Genuine labels need no state.
        self._frauds: dict[str, bytearray] = {}
        self._fraud_labels: dict[str, str] = {}
        # Replay markers hold the encoded reply of each transaction. Two generations, swapped
        # once the current one spans 8 days of event time: every id is remembered for at
        # least that long at O(1) cost, without a per-entry expiry structure.
        # Keyed by the transaction id's UTF-8 bytes: a bytes object is 16 bytes smaller
        # than the str (and the pymalloc size class one smaller for usual ids).
        self._replies: dict[bytes, bytes] = {}
        self._older_replies: dict[bytes, bytes] = {}
        self._clock: dict[str, int] = {}
        self._sweep: Iterator[int] | None = None

    async def clear(self) -> None:
        """Forget every window and marker (the data was emptied); the snapshot too."""
        self._empty()
        if self._snapshot_path is not None:
            self._snapshot_path.unlink(missing_ok=True)

    async def record(self, payment: Payment) -> RawAggregates:
        # No await inside: on one event loop the record is atomic, concurrent calls serialise.
        return self.record_sync(payment)

    async def record_values(self, payment: Payment) -> list[int]:
        return self._record(payment)[0]

    async def record_label(
        self, transaction_id: str, merchant_id: str, occurred_at: datetime, fraud: bool
    ) -> None:
        self.record_label_sync(transaction_id, merchant_id, occurred_at, fraud=fraud)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        if self._snapshot_path is not None:
            data = self._dumps()  # on the loop, so no record can interleave with it
            await asyncio.to_thread(_write_atomically, self._snapshot_path, data)

    def record_sync(self, payment: Payment) -> RawAggregates:
        """`record` without the event loop, for replays and backfills that build training sets."""
        values, replayed = self._record(payment)
        return decode_aggregates(values, replayed=replayed)

    def _record(self, payment: Payment) -> tuple[list[int], bool]:
        """The flat reply (store.py's layout) and whether it is a replay's."""
        txn = payment.transaction_id.encode("utf-8", "surrogatepass")  # as _utf8, inlined
        cached = self._replies.get(txn) or self._older_replies.get(txn)
        if cached is not None:
            return _unpack_reply(cached), True
        t = event_time_us(payment.occurred_at)
        self._advance(t)
        card, account, device = payment.card_token, payment.account_id, payment.device_id
        merchant = self._intern(payment.merchant_id)
        country = self._intern(payment.merchant_country)
        new_country, new_merchant = self._card_first_seen(card, country, ~merchant, t)
        new_device = device is not None and self._first_seen(
            self._account_devices, _utf8(f"{account}{_SEP}{device}"), t
        )
        amount = payment.amount_minor
        flat: list[int] = []
        self._observe(EntityKind.CARD, card, t, amount, merchant, country, flat)
        self._observe(EntityKind.ACCOUNT, account, t, amount, merchant, country, flat)
        if device is None:
            flat.extend(_NO_DEVICE)
        else:
            self._observe(EntityKind.DEVICE, device, t, amount, merchant, country, flat)
        self._observe(EntityKind.MERCHANT, payment.merchant_id, t, amount, merchant, country, flat)
        flat += (int(device is not None), int(new_country), int(new_merchant), int(new_device))
        self._delayed(payment.merchant_id, t, flat)
        self._replies[txn] = _pack_reply(flat)
        return flat, False

    def record_label_sync(
        self, transaction_id: str, merchant_id: str, occurred_at: datetime, *, fraud: bool
    ) -> None:
        """`record_label` without the event loop (replays and backfills)."""
        known = self._fraud_labels.get(transaction_id)
        if fraud == (known is not None):
            return  # this label is already counted, or a genuine one was never counted
        if known is None:
            t = event_time_us(occurred_at)
            self._fraud_labels[transaction_id] = f"{t}{_SEP}{merchant_id}"
            series = self._frauds.setdefault(merchant_id, bytearray())
            with memoryview(series) as raw, raw.cast("q") as ts:
                at = bisect_right(ts, t)
            series[at * _TS.size : at * _TS.size] = _TS.pack(t)
            return
        del self._fraud_labels[transaction_id]
        stamp, _, merchant = known.partition(_SEP)
        t, frauds = int(stamp), self._frauds.get(merchant)
        if frauds is None:
            return  # expired with its merchant already
        with memoryview(frauds) as raw, raw.cast("q") as ts:
            at = bisect_right(ts, t) - 1
            found = at >= 0 and ts[at] == t
        if found:
            del frauds[at * _TS.size : (at + 1) * _TS.size]

    def _delayed(self, merchant_id: str, t: int, out: list[int]) -> None:
        """Append the merchant's delayed windows (payments, frauds) for a payment at t."""
        series = self._series[EntityKind.MERCHANT][merchant_id]
        newest = _newest_us(series)
        if t <= newest - _MAX_WINDOW_US:  # counted only itself in every window: no history
            out += _NO_DELAYED
            return
        # Events at or before `keep` are expired (the series drops them lazily): a floor.
        keep = newest - self._merchant_keep_us
        end = t - self._delay_us
        frauds = self._frauds.get(merchant_id)
        with (
            memoryview(series) as raw,
            raw.cast("q") as q,
            q[1::_FIELDS] as ts,
            memoryview(frauds or b"") as fraud_raw,
            fraud_raw.cast("q") as fraud_ts,
        ):
            hi = bisect_right(ts, end)
            fraud_hi = bisect_right(fraud_ts, end)
            for width in _DELAYED_US:
                start = max(end - width, keep)
                out += (
                    max(hi - bisect_right(ts, start, 0, hi), 0),
                    max(fraud_hi - bisect_right(fraud_ts, start, 0, fraud_hi), 0),
                )
            dead = bisect_right(fraud_ts, keep)
        if frauds is not None and dead and 4 * dead * _TS.size >= len(frauds):
            del frauds[: dead * _TS.size]

    def stats(self) -> MemoryStoreStats:
        """Sizes for metrics and tests; walks every entity, so not for the hot path."""
        series = [s for kind in self._series.values() for s in kind.values()]
        return MemoryStoreStats(
            entities=len(series),
            events=sum((len(s) - _HEADER.size) // _RECORD.size for s in series),
            novelty_entries=sum(len(seen) // _SEEN.size for seen in self._card_seen.values())
            + len(self._account_devices),
            replay_markers=len(self._replies) + len(self._older_replies),
        )

    def _intern(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self._codes)
        return code

    def _card_first_seen(self, card: str, country: int, merchant: int, t: int) -> tuple[bool, bool]:
        """`_first_seen` for a card's country and merchant (tagged codes), in its own table."""
        seen = self._card_seen.get(card)
        if seen is None:
            self._card_seen[card] = bytearray(_SEEN.pack(country, t) + _SEEN.pack(merchant, t))
            return True, True
        with memoryview(seen) as raw, raw.cast("q") as pairs:
            codes = pairs[0::2].tolist()
            last_country = _touch(pairs, codes, country, t)
            last_merchant = _touch(pairs, codes, merchant, t)
        # Appended once the view is released (a bytearray with a view cannot grow).
        if last_country is None:
            seen += _SEEN.pack(country, t)
        if last_merchant is None:
            seen += _SEEN.pack(merchant, t)
        horizon = t - self._retention_us
        return (
            last_country is None or last_country <= horizon,
            last_merchant is None or last_merchant <= horizon,
        )

    def _first_seen(self, seen: dict[bytes, int], key: bytes, t: int) -> bool:
        """Whether key was unseen (or last seen a retention ago) at t; then remember it."""
        last = seen.get(key)
        if last is None or t > last:
            seen[key] = t
        return last is None or last <= t - self._retention_us

    def _observe(
        self,
        kind: EntityKind,
        key: str,
        t: int,
        amount: int,
        merchant: int,
        country: int,
        out: list[int],
    ) -> None:
        """Record one event into an entity's series and append its window stats to out."""
        entities = self._series[kind]
        series = entities.get(key)
        if series is None:
            series = entities[key] = bytearray(_HEADER.pack(0))
        distinct = kind in DISTINCT_KINDS
        size = len(series)
        n = (size - _HEADER.size) // _RECORD.size
        newest, total = _LAST.unpack_from(series, size - _RECORD.size) if n else (t, 0)
        if t >= newest:  # the usual case: in event order, append
            at = n
            series += _RECORD.pack(t, total + amount, merchant, country)
            newest = t
        else:
            with memoryview(series) as raw, raw.cast("q") as q, q[1::_FIELDS] as ts:
                at = bisect_right(ts, t)  # after equal timestamps, so those count as earlier
        # Events at or before the cutoff are out of every window of every later payment:
        # treated as gone right away (so both adapters agree), dropped in batches below.
        cutoff = newest - _MAX_WINDOW_US
        keep = newest - self._merchant_keep_us if kind is EntityKind.MERCHANT else cutoff
        if t <= cutoff:
            # More than the largest window older than the entity's newest event: only itself.
            out.extend((1, amount, int(distinct), int(distinct)) * len(_WINDOW_US))
            return
        if at < n:
            self._insert_late(series, at, t, amount, merchant, country)
        n += 1
        with memoryview(series) as raw, raw.cast("q") as q, q[1::_FIELDS] as ts:
            floor = 0 if ts[0] > cutoff else bisect_right(ts, cutoff)
            dead = floor if keep == cutoff else bisect_right(ts, keep, 0, floor)
            hi = at + 1  # everything at or before t sits left of the new record's end
            top = _prefix_sum(q, hi)
            if distinct:
                # Windows ascend, so each one extends the previous further back in time: the
                # sets grow by the new stretch only, instead of being rebuilt per window.
                merchants: set[int] = set()
                countries: set[int] = set()
                stop = hi * _FIELDS
                for width in _WINDOW_US:
                    lo = bisect_right(ts, t - width, floor, hi)
                    start = lo * _FIELDS
                    merchants.update(q[start + 3 : stop + 3 : _FIELDS])
                    countries.update(q[start + 4 : stop + 4 : _FIELDS])
                    out += (hi - lo, top - _prefix_sum(q, lo), len(merchants), len(countries))
                    stop = start
            else:
                for width in _WINDOW_US:
                    lo = bisect_right(ts, t - width, floor, hi)
                    out += (hi - lo, top - _prefix_sum(q, lo), 0, 0)
            # Compact once a quarter is dead: the memmove cost stays amortised O(1) per event.
            drop = dead if dead and 4 * dead >= n else 0
            if drop:
                q[0] = _prefix_sum(q, drop)
        if drop:
            del series[_HEADER.size : _HEADER.size + drop * _RECORD.size]

    @staticmethod
    def _insert_late(
        series: bytearray, at: int, t: int, amount: int, merchant: int, country: int
    ) -> None:
        """Insert an out-of-order event at record index `at`, keeping the cumulative column."""
        with memoryview(series) as raw, raw.cast("q") as q:
            before = _prefix_sum(q, at)
        offset = _HEADER.size + at * _RECORD.size
        series[offset:offset] = _RECORD.pack(t, before + amount, merchant, country)
        with memoryview(series) as raw, raw.cast("q") as q:
            for index in range((at + 1) * _FIELDS + 2, len(q), _FIELDS):
                q[index] += amount

    def _advance(self, t: int) -> None:
        """Move the store's event clock; rotate replay markers; sweep idle state bit by bit."""
        clock = self._clock
        if not clock:
            clock.update(newest=t, generation=t, swept=t, novelty_swept=t)
            return
        if self._sweep is not None and next(self._sweep, None) is None:
            self._sweep = None
        if t <= clock["newest"]:
            return
        clock["newest"] = t
        if t - clock["generation"] >= _REPLAY_GENERATION_US:
            self._older_replies, self._replies = self._replies, {}
            clock["generation"] = t
        if self._sweep is None and t - clock["swept"] >= _SWEEP_EVERY_US:
            novelty = t - clock["novelty_swept"] >= _NOVELTY_SWEEP_EVERY_US
            self._sweep = self._sweeper(t, novelty=novelty)
            clock["swept"] = t
            if novelty:
                clock["novelty_swept"] = t

    def _sweeper(self, t: int, *, novelty: bool) -> Iterator[int]:
        """Drop idle state, a few keys per record so no single payment pays for a full pass.

        An idle entity never records again, so its own cutoff never moves: it goes once
        the whole store is state_ttl past its newest event. Novelty entries go once they
        are older than the retention, since they then count as new anyway.
        """
        horizon = t - self._state_ttl_us
        for entities in self._series.values():
            for done, key in enumerate(list(entities), 1):  # a copy: records add keys meanwhile
                series = entities.get(key)
                if series is not None and _newest_us(series) <= horizon:
                    del entities[key]
                if done % _SWEEP_STEP == 0:
                    yield done
        for done, txn in enumerate(list(self._fraud_labels), 1):
            known = self._fraud_labels.get(txn)
            if known is not None and int(known.partition(_SEP)[0]) <= horizon:
                del self._fraud_labels[txn]
            if done % _SWEEP_STEP == 0:
                yield done
        for done, merchant in enumerate(list(self._frauds), 1):
            if merchant not in self._series[EntityKind.MERCHANT]:
                self._frauds.pop(merchant, None)
            if done % _SWEEP_STEP == 0:
                yield done
        if not novelty:
            return
        horizon = t - self._retention_us
        for done, card in enumerate(list(self._card_seen), 1):
            pairs = self._card_seen.get(card)
            if pairs is not None:
                kept = b"".join(
                    _SEEN.pack(code, last)
                    for code, last in _SEEN.iter_unpack(pairs)
                    if last > horizon
                )
                if kept:
                    self._card_seen[card] = bytearray(kept)
                else:
                    del self._card_seen[card]
            if done % _SWEEP_STEP == 0:
                yield done
        for done, pair in enumerate(list(self._account_devices), 1):
            last = self._account_devices.get(pair)
            if last is not None and last <= horizon:
                del self._account_devices[pair]
            if done % _SWEEP_STEP == 0:
                yield done

    def snapshot(self, path: Path) -> None:
        """Write the whole state to path (atomically). Blocks; call when nothing records."""
        _write_atomically(path, self._dumps())

    def restore(self, path: Path) -> None:
        """Replace the state with a snapshot written by `snapshot` on this kind of machine."""
        state = orjson.loads(path.read_bytes())
        known = (_SNAPSHOT_FORMAT, _WIDER_REPLIES_FORMAT, _CARD_PAIRS_FORMAT, _PREVIOUS_FORMAT)
        if state.get("format") not in known or state.get("byteorder") != sys.byteorder:
            raise ValueError(f"{path} is not a {_SNAPSHOT_FORMAT} snapshot for this machine")
        if state["format"] == _PREVIOUS_FORMAT:
            state.update(frauds={}, fraud_labels={}, replies=[{}, {}])
        self._codes = {value: code for code, value in enumerate(state["codes"])}
        self._series = {
            kind: {
                key: bytearray(base64.b64decode(blob))
                for key, blob in state["series"].get(kind.value, {}).items()
            }
            for kind in EntityKind
        }
        if state["format"] in (_SNAPSHOT_FORMAT, _WIDER_REPLIES_FORMAT):
            self._card_seen = {
                card: bytearray(base64.b64decode(blob)) for card, blob in state["card_seen"].items()
            }
        else:
            self._card_seen = {}
            for pairs, merchants in (
                (state["card_countries"], False),
                (state["card_merchants"], True),
            ):
                for key, last in pairs.items():
                    card, _, value = key.partition(_SEP)
                    code = ~self._intern(value) if merchants else self._intern(value)
                    self._card_seen.setdefault(card, bytearray()).extend(_SEEN.pack(code, last))
        self._account_devices = {
            _utf8(pair): last for pair, last in state["account_devices"].items()
        }
        self._frauds = {
            merchant: bytearray(base64.b64decode(blob))
            for merchant, blob in state["frauds"].items()
        }
        self._fraud_labels = dict(state["fraud_labels"])
        self._replies, self._older_replies = (
            {_utf8(txn): base64.b64decode(blob) for txn, blob in generation.items()}
            for generation in state["replies"]
        )
        self._clock = dict(state["clock"])
        self._sweep = None  # a sweep in progress walked the replaced tables

    def _dumps(self) -> bytes:
        # Byte blobs as base64 inside JSON: a safe format to load (unlike pickle), still fast.
        def blobs(values: dict[str, bytearray]) -> dict[str, str]:
            return {key: base64.b64encode(blob).decode() for key, blob in values.items()}

        def replies(values: dict[bytes, bytes]) -> dict[str, str]:
            return {
                txn.decode("utf-8", "surrogatepass"): base64.b64encode(blob).decode()
                for txn, blob in values.items()
            }

        return orjson.dumps(
            {
                "format": _SNAPSHOT_FORMAT,
                "byteorder": sys.byteorder,  # records are native int64s
                "codes": list(self._codes),  # insertion order is code order
                "series": {kind.value: blobs(series) for kind, series in self._series.items()},
                "card_seen": blobs(self._card_seen),
                "account_devices": {
                    pair.decode("utf-8", "surrogatepass"): last
                    for pair, last in self._account_devices.items()
                },
                "frauds": blobs(self._frauds),
                "fraud_labels": self._fraud_labels,
                "replies": [replies(self._replies), replies(self._older_replies)],
                "clock": self._clock,
            }
        )


def _write_atomically(path: Path, data: bytes) -> None:
    # Write then rename: a crash mid-write leaves the previous snapshot intact.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
