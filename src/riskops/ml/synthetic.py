"""Labelled synthetic history for the first champion, featurised by the production definitions.

Payments are generated with their truth (fraud scenarios: card testing bursts, account
takeover from a new device and country, compromised merchants, stolen-card amount spikes),
then recorded in event order into a fresh in-process online store and turned into vectors
by `build_feature_vector`: the same code that serves, so the model sees at training
exactly what it will see live. Nothing goes through the database: this is seconds, not
minutes, and leaves no synthetic payments in the ledger.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import pandas as pd

from riskops.core.payment import Channel, Payment
from riskops.features import FEATURE_NAMES, MemoryOnlineStore, build_feature_vector

COUNTRIES: Final = ("DE", "FR", "GB", "US", "NL", "ES", "IT")
RISKY: Final = ("NG", "RU", "BR", "ID")


@dataclass(frozen=True, slots=True)
class _Customer:
    index: int
    country: str
    typical: float
    merchants: tuple[str, ...]


def _payment(
    rng: random.Random, who: _Customer, at: datetime, serial: int, **overrides: object
) -> Payment:
    fields: dict[str, object] = {
        "transaction_id": f"syn-{serial:08d}",
        "account_id": f"acct-{who.index:05d}",
        "card_token": f"card-{who.index:05d}",
        "card_bin": "400000",
        "card_last4": f"{who.index % 10_000:04d}",
        "amount_minor": max(50, int(rng.lognormvariate(0, 0.5) * who.typical)),
        "currency": "EUR",
        "merchant_id": rng.choice(who.merchants),
        "merchant_category": "5411",
        "merchant_country": who.country,
        "channel": Channel.POS if rng.random() < 0.7 else Channel.ECOM,
        "occurred_at": at,
        "device_id": f"dev-{who.index:05d}",
    }
    fields.update(overrides)
    return Payment(**fields)  # type: ignore[arg-type]


def synthetic_payments(
    count: int, *, days: int = 14, seed: int = 7, end: datetime | None = None
) -> list[tuple[Payment, int]]:
    """`count` payments over `days` ending at `end`, in event order, each with its label."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    end = end or datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    span = days * 86_400
    customers = [
        _Customer(
            i,
            rng.choice(COUNTRIES),
            rng.lognormvariate(8.0, 0.6),
            tuple(f"m-{rng.randint(1, 600)}" for _ in range(8)),
        )
        for i in range(max(count // 20, 10))
    ]
    # Compromised merchants: every payment there during their window is fraud.
    compromised = {f"m-{rng.randint(1, 600)}": rng.uniform(0, span) for _ in range(3)}
    rows: list[tuple[Payment, int]] = []
    serial = 0
    while len(rows) < count:
        who = rng.choice(customers)
        at = start + timedelta(seconds=rng.uniform(0, span))
        scenario = rng.random()
        serial += 1
        if scenario < 0.006:  # card testing: tiny e-commerce charges at many merchants
            for step in range(rng.randint(5, 9)):
                serial += 1
                rows.append(
                    (
                        _payment(
                            rng,
                            who,
                            at + timedelta(seconds=15 * step),
                            serial,
                            amount_minor=rng.randint(50, 300),
                            merchant_id=f"m-web-{rng.randint(1, 400)}",
                            merchant_category="5967",
                            channel=Channel.ECOM,
                        ),
                        1,
                    )
                )
        elif scenario < 0.012:  # account takeover: new device and country, a large amount
            rows.append(
                (
                    _payment(
                        rng,
                        who,
                        at,
                        serial,
                        amount_minor=int(who.typical * rng.uniform(6, 20)),
                        merchant_id=f"m-electronics-{rng.randint(1, 30)}",
                        merchant_category="5732",
                        merchant_country=rng.choice(RISKY),
                        device_id=f"dev-new-{serial}",
                        channel=Channel.ECOM,
                    ),
                    1,
                )
            )
        elif scenario < 0.016:  # stolen card: the usual places, five times the usual amount
            payment = _payment(rng, who, at, serial)
            rows.append((_payment(rng, who, at, serial, amount_minor=payment.amount_minor * 5), 1))
        else:
            payment = _payment(rng, who, at, serial)
            since = compromised.get(payment.merchant_id)
            seconds = (at - start).total_seconds()
            fraud = since is not None and since <= seconds < since + 3 * 86_400
            rows.append((payment, int(fraud)))
    rows.sort(key=lambda item: item[0].occurred_at)
    return rows[:count]


def featurise(rows: list[tuple[Payment, int]]) -> pd.DataFrame:
    """Feature vectors (FEATURE_NAMES), label, event time and card, replayed in event order."""
    store = MemoryOnlineStore()
    records = []
    for payment, label in rows:
        vector = build_feature_vector(payment, store.record_sync(payment))
        records.append(
            {
                **vector,
                "label": label,
                "occurred_at": payment.occurred_at,
                "card": payment.card_token,
            }
        )
    return pd.DataFrame.from_records(
        records, columns=[*FEATURE_NAMES, "label", "occurred_at", "card"]
    )
