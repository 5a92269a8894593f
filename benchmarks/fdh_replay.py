"""Production features for the handbook's raw transactions, as one matrix.

The same replay as benchmarks/fdh_parity.py (each raw transaction becomes a Payment and is
recorded in event order into the production MemoryOnlineStore; its label reaches the store
through `record_label`, once the label delay has passed in event time; `build_feature_vector`
makes the vector), written into a float64 array instead of a dict per payment, so the
whole six-month period (1.75M payments) fits in memory. Imports nothing from its sibling
scripts, so tests can import it as `benchmarks.fdh_replay`.
"""

import hashlib
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

import riskops.features as features_package
from riskops.core.payment import Channel, Payment
from riskops.features import FEATURE_NAMES, LABEL_DELAY, MemoryOnlineStore, build_feature_vector


def _payments(frame: pd.DataFrame) -> Iterator[tuple[int, Payment, bool]]:
    """(TRANSACTION_ID, Payment, fraud) per row; customer -> card and account, terminal ->
    merchant, amount -> cents: the mapping of benchmarks/fdh_parity.py."""
    for txn, customer_id, terminal, amount, when, fraud in zip(
        frame["TRANSACTION_ID"].to_numpy(np.int64),
        frame["CUSTOMER_ID"].to_numpy(np.int64),
        frame["TERMINAL_ID"].to_numpy(np.int64),
        frame["TX_AMOUNT"].to_numpy(np.float64),
        pd.to_datetime(frame["TX_DATETIME"]).dt.tz_localize(UTC).dt.to_pydatetime(),
        frame["TX_FRAUD"].to_numpy(np.int64),
        strict=True,
    ):
        customer = f"fdh-c{int(customer_id)}"
        payment = Payment(
            transaction_id=f"fdh-{int(txn)}",
            account_id=customer,
            card_token=customer,
            card_bin="400000",
            card_last4="0000",
            amount_minor=round(float(amount) * 100),
            currency="EUR",
            merchant_id=f"fdh-t{int(terminal)}",
            merchant_category="5999",
            merchant_country="FR",
            channel=Channel.POS,
            occurred_at=when,
        )
        yield int(txn), payment, bool(fraud)


@dataclass(frozen=True)
class ProductionFeatures:
    transaction_ids: np.ndarray  # int64, in the replay's (event) order
    matrix: np.ndarray  # float64, one row per transaction, FEATURE_NAMES columns
    per_payment_us: float

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.matrix, columns=list(FEATURE_NAMES))
        frame.insert(0, "TRANSACTION_ID", self.transaction_ids)
        return frame


def production_features(raw: pd.DataFrame) -> ProductionFeatures:
    """Replay raw transactions and their delayed labels; one feature row per transaction."""
    ordered = raw.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable")
    store = MemoryOnlineStore(label_delay=LABEL_DELAY)
    matrix = np.empty((len(ordered), len(FEATURE_NAMES)), dtype=np.float64)
    ids = np.empty(len(ordered), dtype=np.int64)
    pending: deque[tuple[datetime, str, str, bool]] = deque()
    started = time.perf_counter()
    for row, (txn, payment, fraud) in enumerate(_payments(ordered)):
        known_until = payment.occurred_at - LABEL_DELAY
        while pending and pending[0][0] <= known_until:
            at, label_txn, merchant, is_fraud = pending.popleft()
            store.record_label_sync(label_txn, merchant, at, fraud=is_fraud)
        vector = build_feature_vector(payment, store.record_sync(payment))
        matrix[row] = tuple(vector.values())  # dict order is FEATURE_NAMES order
        ids[row] = txn
        pending.append((payment.occurred_at, payment.transaction_id, payment.merchant_id, fraud))
    per_payment_us = (time.perf_counter() - started) / max(len(ordered), 1) * 1e6
    return ProductionFeatures(ids, matrix, per_payment_us)


def _code_digest(raw: pd.DataFrame) -> str:
    """Names the replay's inputs: the feature code, this module and the raw rows replayed."""
    digest = hashlib.sha256("\n".join(FEATURE_NAMES).encode())
    for source in sorted(Path(features_package.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(raw["TRANSACTION_ID"].to_numpy(np.int64).tobytes())
    digest.update(raw["TX_FRAUD"].to_numpy(np.int64).tobytes())
    return digest.hexdigest()[:16]


def cached_production_features(raw: pd.DataFrame, folder: Path | None) -> ProductionFeatures:
    """`production_features`, kept in `folder` (outside the repo) under a digest of its inputs.

    A replay of the whole period takes minutes on a busy machine; any change to the feature
    code, this module or the rows changes the digest, so a stale matrix is never reused.
    """
    if folder is None:
        return production_features(raw)
    path = folder / f"fdh-production-{_code_digest(raw)}.npz"
    if path.exists():
        with np.load(path) as saved:
            return ProductionFeatures(saved["ids"], saved["matrix"], float(saved["us"]))
    played = production_features(raw)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=played.transaction_ids, matrix=played.matrix, us=played.per_payment_us)
    return played
