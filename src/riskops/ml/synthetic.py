"""Labelled synthetic history for the first champion, featurised by the production definitions.

The payments come from the one synthetic generator (`riskops.simulation.generator`, which
`riskops simulate` and `riskops demo` use too): everyday spending plus card testing bursts,
account takeover from a new device and country, compromised merchants and amount spikes, each
with its truth. They are recorded in event order into a fresh in-process online store and
turned into vectors by `build_feature_vector`: the same code that serves, so the model sees at
training exactly what it will see live. Nothing goes through the database: this leaves no
synthetic payments in the ledger.
"""

from datetime import UTC, datetime, timedelta
from itertools import islice

import pandas as pd

from riskops.core.payment import Payment
from riskops.features import FEATURE_NAMES, MemoryOnlineStore, build_feature_vector
from riskops.simulation.generator import SimulatedPayment, Simulator


def as_payment(simulated: SimulatedPayment, serial: int) -> Payment:
    """The pipeline's view of a generated payment (one card per generated user)."""
    request = simulated.request
    card = request.card_number.get_secret_value()
    assert request.occurred_at is not None  # the generator always sets the event time
    return Payment(
        transaction_id=f"syn-{serial:08d}",
        account_id=request.account_id,
        card_token=f"card-{simulated.user_id}",
        card_bin=card[:6],
        card_last4=card[-4:],
        amount_minor=request.amount_minor,
        currency=request.currency,
        merchant_id=request.merchant_id,
        merchant_category=request.merchant_category,
        merchant_country=request.merchant_country,
        channel=request.channel,
        occurred_at=request.occurred_at,
        device_id=request.device_id,
        user_id=request.user_id,
    )


def synthetic_payments(
    count: int, *, days: int = 14, seed: int = 7, end: datetime | None = None
) -> list[tuple[Payment, int]]:
    """`count` payments over `days` ending at `end`, in event order, each with its label."""
    end = end or datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=days)
    # About twenty payments per customer over the period: enough history per card to learn from.
    simulator = Simulator(
        seed, end - span, count / span.total_seconds(), users=max(count // 20, 10)
    )
    return [(as_payment(p, i), p.label) for i, p in enumerate(islice(simulator, count))]


def featurise(rows: list[tuple[Payment, int]]) -> pd.DataFrame:
    """Feature vectors (FEATURE_NAMES), label, event time and card, replayed in event order."""
    store = MemoryOnlineStore()
    records = []
    for payment, label in rows:
        vector = build_feature_vector(payment, store.record_sync(payment))
        # Labels reach the store as in production; its merchant fraud rates only count
        # payments older than the label delay, so knowing the truth now leaks nothing.
        store.record_label_sync(
            payment.transaction_id, payment.merchant_id, payment.occurred_at, fraud=bool(label)
        )
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
