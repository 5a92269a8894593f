"""Does similar-case search find fraud? The Fraud Detection Handbook's data, our features.

    python benchmarks/similarity_fdh.py [--train-start 2018-07-25] [--k 10]

The handbook's raw transactions are replayed through our online store (benchmarks/fdh_parity.py)
so every record carries the exact production feature vector (FEATURE_NAMES). Candidates are
the records of the two weeks before the handbook's test week (its train and delay weeks);
queries are the known frauds of the test week (known-compromised cards removed, as in the
protocol). For each query, the fraud share among its k nearest candidates by cosine distance
(exact search), against the candidates' base fraud rate. Compared embeddings:

- `features/1`: the product's default (z-scores fitted on a 20k sample, clipped at 20,
  projected to 384 dims: src/riskops/similarity/embedders.py);
- its signed-log variant (median/IQR of the signed log, clipped at 6, projected);
- plain standardised features (z-scores on all candidates, no clipping, no projection);
- the champion's leaves: a LightGBM trained on the train week, each record embedded by the
  leaf it reaches in every tree (hashed to 384 dims), so records are close when the model
  routes them alike.

Writes benchmarks/results/similarity_fdh.json.
"""

import argparse
import hashlib
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

import fdh_handbook as fdh  # the sibling module (scripts run as python benchmarks/NAME.py)
from fdh_parity import replay
from riskops.features import FEATURE_NAMES
from riskops.ml.training import TrainingConfig, fit_booster
from riskops.similarity.embedders import FeatureEmbedder, fit_feature_params, normalise

RESULTS = Path(__file__).parent / "results" / "similarity_fdh.json"
HISTORY_DAYS = 30 + fdh.DELAY_DAYS + 1
DIM = 384
Matrix = npt.NDArray[np.float32]


def fraud_share(
    candidates: Matrix, fraud: npt.NDArray[np.bool_], queries: Matrix, k: int
) -> tuple[float, float]:
    """(mean fraud share among the k nearest, share of queries with >= 1 fraud neighbour)."""
    shares, any_hit = [], 0
    for start in range(0, len(queries), 256):
        similarity = queries[start : start + 256] @ candidates.T
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        hits = fraud[top].sum(axis=1)
        shares.extend(hits / k)
        any_hit += int((hits > 0).sum())
    return float(np.mean(shares)), any_hit / len(queries)


def plain_standardised(
    train: npt.NDArray[np.float64], *others: npt.NDArray[np.float64]
) -> list[Matrix]:
    mean, std = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    std[~np.isfinite(std) | (std < 1e-12)] = 1.0
    return [normalise(np.nan_to_num((m - mean) / std)) for m in (train, *others)]


def leaf_embedding(leaves: npt.NDArray[np.int32]) -> Matrix:
    """Each (tree, leaf) hashed to a signed coordinate: cosine ~ share of trees agreeing."""
    trees, most = leaves.shape[1], int(leaves.max()) + 1
    out = np.zeros((len(leaves), DIM), np.float64)
    rows = np.arange(len(leaves))
    for tree in range(trees):
        hashes = [
            int.from_bytes(hashlib.blake2b(f"{tree}:{leaf}".encode(), digest_size=8).digest())
            for leaf in range(most)
        ]
        bucket = np.array([h % DIM for h in hashes])
        sign = np.array([1.0 if (h >> 32) & 1 else -1.0 for h in hashes])
        np.add.at(out, (rows, bucket[leaves[:, tree]]), sign[leaves[:, tree]])
    return normalise(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-start", type=date.fromisoformat, default=date(2018, 7, 25))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep the replayed records here (pickle)"
    )
    args = parser.parse_args()
    folder = fdh.data_dir()
    if not (folder / "raw").is_dir():
        print(f"no handbook data at {folder} (set RISKOPS_FDH_DIR)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    train_start: date = args.train_start
    test_end = train_start + timedelta(days=20)
    if args.cache is not None and args.cache.exists():
        featured = pd.read_pickle(args.cache)
    else:
        start = train_start - timedelta(days=HISTORY_DAYS)
        raw = fdh.load_days(folder / "raw", start, test_end)
        featured = fdh.add_features(raw)
        ordered = raw.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable")
        played = replay(ordered, pd.Timestamp(train_start))
        vectors = pd.DataFrame.from_dict(played.vectors, orient="index", columns=FEATURE_NAMES)
        featured = featured.merge(vectors, left_on="TRANSACTION_ID", right_index=True, how="inner")
        if args.cache is not None:
            featured.to_pickle(args.cache)
    split = fdh.protocol_split(featured, train_start)
    first = (train_start - date(2018, 4, 1)).days
    days = featured["TX_TIME_DAYS"]
    candidates = featured[(days >= first) & (days < first + 14)]
    queries = split.test[split.test["TX_FRAUD"] == 1]
    fraud = candidates["TX_FRAUD"].to_numpy(bool)
    base = float(fraud.mean())
    names = list(FEATURE_NAMES)
    cand_x = candidates[names].to_numpy(np.float64)
    query_x = queries[names].to_numpy(np.float64)
    results = []

    def report(name: str, cand: Matrix, query: Matrix) -> None:
        share, any_hit = fraud_share(cand, fraud, query, args.k)
        results.append(
            {
                "embedding": name,
                f"fraud_share_at_{args.k}": round(share, 4),
                "lift_over_base_rate": round(share / base, 1),
                "queries_with_a_fraud_neighbour": round(any_hit, 4),
            }
        )
        print(f"{name:48s} fraud share@{args.k} {share:.3f}  = {share / base:5.1f}x base rate"
              f"  ({any_hit:.1%} of queries have a fraud neighbour)")  # fmt: skip

    rows = candidates[names].to_dict("records")
    query_rows = queries[names].to_dict("records")
    sample = rows[:: max(1, len(rows) // 20_000)]  # as the product fits a version: 20k records
    for label, transform in (
        ("features/1 (product default: z-scores, projected)", "linear"),
        ("signed-log, median/IQR, clipped, projected", "log"),
    ):
        embedder = FeatureEmbedder.from_params(
            "1", DIM, fit_feature_params(names, sample, transform)
        )
        report(label, embedder.embed_many(rows), embedder.embed_many(query_rows))
    plain_cand, plain_query = plain_standardised(cand_x, query_x)
    report("plain standardised features", plain_cand, plain_query)
    train = split.train
    booster, _ = fit_booster(
        train, names, "TX_FRAUD", TrainingConfig(n_jobs=2), time_column="TX_TIME_SECONDS"
    )
    leaves = booster.predict(np.vstack([cand_x, query_x]), pred_leaf=True).astype(np.int32)
    embedded = leaf_embedding(leaves)
    report("champion leaves (LightGBM on the train week)", embedded[: len(cand_x)],
           embedded[len(cand_x):])  # fmt: skip
    document = {
        "dates": {
            "candidates": [train_start.isoformat(), (train_start + timedelta(days=13)).isoformat()],
            "queries": [(train_start + timedelta(days=14)).isoformat(), test_end.isoformat()],
        },
        "candidates": len(candidates),
        "candidate_frauds": int(fraud.sum()),
        "base_fraud_rate": round(base, 5),
        "queries": len(queries),
        "k": args.k,
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"candidates {len(candidates):,} ({int(fraud.sum())} frauds, base rate {base:.4f}); "
          f"queries {len(queries)} test-week frauds; {document['seconds']} s")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
