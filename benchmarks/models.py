"""What the model adds to one decision, measured against the feature step in the same run.

    python benchmarks/models.py [--payments 20000]

Trains the first-start champion on synthetic history (timed: that is what `make run` does
on first start), then times per payment: recording + building the feature vector (the
step every decision pays anyway), champion scoring through the ModelServer (vector +
Booster.predict), and the explanation (pred_contrib) paid only at or above review.
"""

import argparse
import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

from riskops.features import MemoryOnlineStore, build_feature_vector
from riskops.ml.registry import Alias, LoadedModel
from riskops.ml.service import train_synthetic
from riskops.ml.serving import ModelServer
from riskops.ml.synthetic import synthetic_payments


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    model = train_synthetic(args.payments)
    train_seconds = time.perf_counter() - started

    rows = synthetic_payments(args.sample, seed=99)
    store = MemoryOnlineStore()
    features = []
    started = time.perf_counter()
    for payment, _ in rows:
        features.append(build_feature_vector(payment, store.record_sync(payment)))
    feature_us = (time.perf_counter() - started) / len(rows) * 1e6

    server = ModelServer(canary_share=0.0, explain_above=2.0)  # never explain: score only
    server.install(Alias.CHAMPION, LoadedModel("fraud", "1", model.booster, model.features))
    started = time.perf_counter()
    for (payment, _), vector in zip(rows, features, strict=True):
        server.score(vector, card=payment.card_token, subject=payment.transaction_id)
    score_us = (time.perf_counter() - started) / len(rows) * 1e6

    champion = server.models[Alias.CHAMPION]
    timings = []
    for vector in features[:1_000]:
        row = champion.vector(vector)
        began = time.perf_counter()
        champion.contributions(row)
        timings.append((time.perf_counter() - began) * 1e6)
    explain_us = statistics.mean(timings)

    table = Table("step (per payment)", "us", "ratio to features")
    table.add_row("features: record + vector (memory store)", f"{feature_us:.1f}", "1.00")
    table.add_row(
        "champion score (vector + C API fast predict)",
        f"{score_us:.1f}",
        f"{score_us / feature_us:.2f}",
    )
    table.add_row(
        "explanation (pred_contrib), review+ only",
        f"{explain_us:.1f}",
        f"{explain_us / feature_us:.2f}",
    )
    console.print(table)
    console.print(
        f"first-start champion: {args.payments:,} synthetic payments featurised and trained "
        f"in {train_seconds:.1f}s (holdout AUC {model.metrics['auc']:.3f}, "
        f"AP {model.metrics['ap']:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
