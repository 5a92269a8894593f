"""A brute-force model of the online store semantics, written straight from the spec.

Slow and obvious on purpose: datetimes instead of integer microseconds, lists instead of
sorted structures, everything recomputed per payment. The contract compares both adapters
with it on shuffled traffic, so clever code in an adapter has to agree with plain code.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from riskops.core.payment import Payment
from riskops.features import (
    DELAYED_WINDOWS,
    LABEL_DELAY,
    MAX_WINDOW,
    NOVELTY_RETENTION,
    WINDOWS,
    EntityAggregates,
    RawAggregates,
    WindowStats,
)
from riskops.features.definitions import DelayedStats, merchant_history


@dataclass(frozen=True)
class Event:
    at: datetime
    amount: int
    merchant: str
    country: str


class ReferenceStore:
    def __init__(self, retention: timedelta = NOVELTY_RETENTION) -> None:
        self.retention = retention
        self.events: dict[tuple[str, str], list[Event]] = {}
        self.newest: dict[tuple[str, str], datetime] = {}
        self.last_seen: dict[tuple[str, str, str], datetime] = {}
        self.replies: dict[str, RawAggregates] = {}
        self.frauds: dict[str, tuple[str, datetime]] = {}  # transaction -> merchant, time

    def record_label(self, transaction_id: str, merchant: str, at: datetime, fraud: bool) -> None:
        if fraud:
            self.frauds.setdefault(transaction_id, (merchant, at))
        else:
            self.frauds.pop(transaction_id, None)

    def record(self, payment: Payment) -> RawAggregates:
        if payment.transaction_id in self.replies:
            first = self.replies[payment.transaction_id]
            return RawAggregates(
                first.card,
                first.account,
                first.merchant,
                first.device,
                first.card_new_country,
                first.card_new_merchant,
                first.account_new_device,
                first.merchant_delayed,
                replayed=True,
            )
        at = payment.occurred_at
        new_country = self.first_seen("country", payment.card_token, payment.merchant_country, at)
        new_merchant = self.first_seen("merchant", payment.card_token, payment.merchant_id, at)
        new_device = payment.device_id is not None and self.first_seen(
            "device", payment.account_id, payment.device_id, at
        )
        event = Event(at, payment.amount_minor, payment.merchant_id, payment.merchant_country)
        device = payment.device_id
        raw = RawAggregates(
            card=self.observe("card", payment.card_token, event, distinct=True),
            account=self.observe("account", payment.account_id, event, distinct=True),
            merchant=self.observe("merchant", payment.merchant_id, event, distinct=False),
            device=None if device is None else self.observe("device", device, event, False),
            card_new_country=new_country,
            card_new_merchant=new_merchant,
            account_new_device=new_device,
            merchant_delayed=self.delayed(payment.merchant_id, at),
        )
        self.replies[payment.transaction_id] = raw
        return raw

    def first_seen(self, table: str, entity: str, value: str, at: datetime) -> bool:
        last = self.last_seen.get((table, entity, value))
        if last is None or at > last:
            self.last_seen[(table, entity, value)] = at
        return last is None or at - last >= self.retention

    def delayed(self, merchant: str, at: datetime) -> dict[str, DelayedStats]:
        """The merchant's delayed windows; empty when the payment counted only itself."""
        newest = self.newest[("merchant", merchant)]
        if at <= newest - MAX_WINDOW:
            return {name: DelayedStats(0, 0) for name in DELAYED_WINDOWS}
        keep = newest - merchant_history(LABEL_DELAY)
        end = at - LABEL_DELAY
        times = [e.at for e in self.events[("merchant", merchant)]]
        frauds = [when for m, when in self.frauds.values() if m == merchant]
        stats = {}
        for name, width in DELAYED_WINDOWS.items():
            start = max(end - width, keep)
            stats[name] = DelayedStats(
                sum(start < when <= end for when in times),
                sum(start < when <= end for when in frauds),
            )
        return stats

    def observe(self, kind: str, key: str, event: Event, distinct: bool) -> EntityAggregates:
        entity = (kind, key)
        newest = max(self.newest.get(entity, event.at), event.at)
        self.newest[entity] = newest
        cutoff = newest - MAX_WINDOW  # at or before: expired for good
        events = self.events.setdefault(entity, [])
        if event.at > cutoff:
            events.append(event)
            live = [e for e in events if cutoff < e.at <= event.at]
        else:
            live = [event]
        stats = {}
        for name, width in WINDOWS.items():
            inside = [e for e in live if e.at > event.at - width]
            stats[name] = WindowStats(
                len(inside),
                sum(e.amount for e in inside),
                len({e.merchant for e in inside}) if distinct else 0,
                len({e.country for e in inside}) if distinct else 0,
            )
        return EntityAggregates(stats)
