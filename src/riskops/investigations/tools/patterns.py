"""The pattern tool: rule-based anomaly scoring over the context, no database.

Each detector is a pure function of the context returning a Pattern (with the evidence ids
it rests on and a strength in [0, 1]) or None. Thresholds are constants here so a test can
build a history just over and just under each one.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from riskops.core.payment import Channel
from riskops.investigations.tools.context import FRAUD, SHARING, Context
from riskops.investigations.tools.geo import least_distance_km

BURST_WINDOW = timedelta(hours=1)
BURST_MIN = 5  # small payments of one card within the hour
SMALL_AMOUNT = 1_000  # minor units: what card testers probe with
VELOCITY_MIN = 3  # payments in 24 h before a spike counts at all
VELOCITY_FACTOR = 3.0  # times the entity's own daily baseline
VELOCITY_HISTORY_MIN = 3  # payments before the last 24 h: a new card has no baseline to beat
HIGH_AMOUNT = 50_000  # minor units (500.00 in two-decimal currencies)
HIGH_FACTOR = 3.0  # or this many times the card's recent mean
MERCHANT_FRAUD_MIN = 2  # confirmed-fraud payments at the merchant inside the window
SHARED_MIN = 3  # cards (accounts, devices) behind one device, IP or card
# Impossible travel: only where the card itself was (a card-present payment's merchant
# country; an online merchant's country says nothing about where the cardholder is).
CARD_PRESENT = frozenset({Channel.POS, Channel.ATM})
TRAVEL_SPEED_KMH = 900.0  # an airliner's cruise: faster than this between payments is not travel
TRAVEL_MIN_KM = 500.0  # least distance below which country-level geography says nothing


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    strength: float
    entity: dict[str, str]  # what the pattern is about: {"kind", "id"}
    explanation: str
    evidence_ids: list[str]
    facts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entity(context: Context, kind: str) -> dict[str, str]:
    t = context.transaction
    value = t["card"]["token"] if kind == "card" else t[f"{kind}_id" if kind != "ip" else "ip"]
    return {"kind": kind, "id": str(value)}


def card_testing(context: Context) -> Pattern | None:
    since = context.at - BURST_WINDOW
    small = [
        r
        for r in context.histories.get("card", [])
        if r["occurred_at"] >= since and r["amount_minor"] <= SMALL_AMOUNT
    ]
    if len(small) < BURST_MIN:
        return None
    merchants = {r["merchant_id"] for r in small}
    return Pattern(
        "card_testing",
        min(1.0, len(small) / (2 * BURST_MIN) + 0.1 * min(len(merchants), 3)),
        _entity(context, "card"),
        f"{len(small)} small payments (at most {SMALL_AMOUNT / 100:.2f}) of the card in the "
        f"hour before, at {len(merchants)} merchant(s)",
        context.ref("history:card"),
        {"small_payments": len(small), "merchants": len(merchants)},
    )


def velocity(context: Context) -> Pattern | None:
    """Payments in the last 24 h against the entity's own daily average over the 29 days
    before, for the card and the device (the entities whose windows the context reads); the
    stronger spike wins."""
    best: Pattern | None = None
    for kind in ("card", "device"):
        windows = context.summaries.get(kind, {}).get("windows")
        if not windows:
            continue
        day = int(windows["24h"]["count"])
        before = int(windows["30d"]["count"]) - day
        baseline = max(before / 29, 0.5)
        ratio = day / baseline
        if before < VELOCITY_HISTORY_MIN or day < VELOCITY_MIN or ratio < VELOCITY_FACTOR:
            continue
        found = Pattern(
            "velocity",
            min(1.0, ratio / (4 * VELOCITY_FACTOR)),
            _entity(context, kind),
            f"{day} payments of the {kind} in 24 h against its baseline of {baseline:.1f} a "
            f"day ({ratio:.1f}x)",
            context.ref(f"history:{kind}"),
            {"count_24h": day, "baseline_per_day": round(baseline, 3), "ratio": round(ratio, 2)},
        )
        if best is None or found.strength > best.strength:
            best = found
    return best


def new_device_or_country(context: Context) -> Pattern | None:
    t = context.transaction
    earlier = context.histories.get("card", [])
    if not earlier:
        return None  # a card's first payment is "new" by construction
    mean = sum(r["amount_minor"] for r in earlier) / len(earlier)
    amount = int(t["amount_minor"])
    if amount < HIGH_AMOUNT and amount < HIGH_FACTOR * mean:
        return None
    new_device = bool(t["device_id"]) and t["device_id"] not in {r["device_id"] for r in earlier}
    new_country = t["merchant_country"] not in {r["merchant_country"] for r in earlier}
    if not (new_device or new_country):
        return None
    what = " and ".join(
        w for w, on in (("a new device", new_device), ("a new country", new_country)) if on
    )
    return Pattern(
        "new_device_or_country_high_amount",
        0.9 if new_device and new_country else 0.7,
        _entity(context, "card"),
        f"{what} with {amount / 100:,.2f}, {amount / max(mean, 1):.1f}x the card's recent mean",
        context.ref("transaction") + context.ref("history:card"),
        {"new_device": new_device, "new_country": new_country, "mean_minor": round(mean)},
    )


def merchant_fraud(context: Context) -> Pattern | None:
    earlier = context.histories.get("merchant", [])
    frauds = [r for r in earlier if r["label"] == FRAUD]
    if len(frauds) < MERCHANT_FRAUD_MIN:
        return None
    share = len(frauds) / len(earlier)
    return Pattern(
        "merchant_confirmed_fraud",
        min(1.0, 0.5 + share),
        _entity(context, "merchant"),
        f"{len(frauds)} of the merchant's {len(earlier)} recent payments are confirmed fraud",
        context.ref("history:merchant")
        + [ref for r in frauds for ref in context.ref(f"fraud:{r['id']}")],
        {"fraud": len(frauds), "payments": len(earlier), "share": round(share, 3)},
    )


def shared_entities(context: Context) -> Pattern | None:
    """The strongest sharing: many cards or accounts behind this payment's device, many cards
    or devices behind its IP, many accounts using its card."""
    best: Pattern | None = None
    for kind, others in SHARING.items():
        linked = context.summaries.get(kind, {}).get("linked", {})
        for other in others:
            count = len(linked.get(other, []))
            if count < SHARED_MIN:
                continue
            found = Pattern(
                "linked_entities",
                min(1.0, count / (3 * SHARED_MIN) + 0.4),
                _entity(context, kind),
                f"the {kind} was used by {count} different {other}s",
                context.ref(f"links:{kind}"),
                {"kind": kind, f"{other}s": count},
            )
            if best is None or found.strength > best.strength:
                best = found
    return best


def _fastest_trip(context: Context, kind: str) -> dict[str, Any] | None:
    """The earlier card-present payment of this entity that the payment could least have
    travelled from, if the speed needed exceeds an airliner's."""
    t = context.transaction
    fastest: dict[str, Any] | None = None
    for row in context.histories.get(kind, []):
        if (
            row.get("channel") not in CARD_PRESENT
            or row["merchant_country"] == t["merchant_country"]
        ):
            continue
        distance = least_distance_km(row["merchant_country"], t["merchant_country"])
        if distance is None or distance < TRAVEL_MIN_KM:
            continue
        hours = max((context.at - row["occurred_at"]).total_seconds() / 3600, 1 / 60)
        speed = distance / hours
        if speed > TRAVEL_SPEED_KMH and (fastest is None or speed > fastest["speed_kmh"]):
            fastest = {
                "other_transaction_id": row["id"],
                "from_country": row["merchant_country"],
                "to_country": t["merchant_country"],
                "least_distance_km": round(distance),
                "hours": round(hours, 2),
                "speed_kmh": round(speed),
            }
    return fastest


def impossible_travel(context: Context) -> Pattern | None:
    """Two card-present payments of one card (or account) in countries too far apart for the
    time between them. Geography is the merchant country's (see geo.py: a lower bound on the
    distance, so only clear cases count); payments carry no coordinates and IPs are not
    located, so online payments and IPs are left out."""
    if context.transaction.get("channel") not in CARD_PRESENT:
        return None
    best: Pattern | None = None
    for kind in ("card", "account"):
        trip = _fastest_trip(context, kind)
        if trip is None:
            continue
        ratio = trip["speed_kmh"] / TRAVEL_SPEED_KMH
        found = Pattern(
            "impossible_travel",
            min(1.0, 0.5 + 0.1 * ratio),
            _entity(context, kind),
            f"card-present in {trip['from_country']} and {trip['to_country']} "
            f"{trip['hours']:g} h apart, at least {trip['least_distance_km']:,} km: "
            f"{trip['speed_kmh']:,} km/h",
            context.ref("transaction") + context.ref(f"history:{kind}"),
            {"kind": kind, **trip},
        )
        if best is None or found.strength > best.strength:
            best = found
    return best


DETECTORS: tuple[Callable[[Context], Pattern | None], ...] = (
    card_testing,
    velocity,
    new_device_or_country,
    merchant_fraud,
    shared_entities,
    impossible_travel,
)


def detect(context: Context) -> list[Pattern]:
    """Every pattern found, strongest first."""
    found = [p for p in (d(context) for d in DETECTORS) if p is not None]
    return sorted(found, key=lambda p: -p.strength)
