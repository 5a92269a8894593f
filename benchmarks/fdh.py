"""The Fraud Detection Handbook's Chapter 3 protocol, run on our training, next to its results.

    python benchmarks/fdh.py [--train-start 2018-07-25] [--n-jobs 2] [--no-production]
    python benchmarks/fdh.py --prequential [--weeks N] [--served-days D]

With --prequential, the Chapter 5 protocol over the whole period instead (rolling weekly
folds, baselines and our served model trained per fold): see benchmarks/fdh_prequential.py.

Train 7 days, skip a 7-day label delay, test 7 days with known-compromised cards removed;
metrics AUC, AP and card precision@100 as the handbook defines them. Prints the published
rows next to ours and writes them to benchmarks/results/fdh.json. Also recomputes the 14
baseline features from the raw files and reports their match rate against `transformed/`.
With production features (the default), the raw transactions and their delayed labels are
also replayed through our online store (benchmarks/fdh_parity.py's replay) and a model is
trained on exactly the vectors the decision path would have computed (FEATURE_NAMES).
"""

import argparse
import csv
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

import fdh_handbook as fdh  # the sibling module (scripts run as python benchmarks/NAME.py)
import fdh_prequential
from fdh_parity import replay  # the sibling script: run as python benchmarks/fdh.py
from riskops.features import FEATURE_NAMES
from riskops.ml.metrics import classification_metrics
from riskops.ml.training import TrainingConfig, fit_booster

RESULTS = Path(__file__).parent / "results" / "fdh.json"
HISTORY_DAYS = 30 + fdh.DELAY_DAYS + 1  # the longest window plus the label delay
TRANSFORMED = (date(2018, 7, 25), date(2018, 8, 14))


def published(folder: Path) -> list[dict[str, object]]:
    rows = []
    with (folder / "published_results.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["experiment"] == "ch3_baseline_single_split" and row["evaluated_on"] == "test":
                rows.append(
                    {
                        "model": f"handbook: {row['model']}",
                        "auc": float(row["auc_roc"]),
                        "ap": float(row["average_precision"]),
                        "cp100": float(row["card_precision_at_100"]),
                        "source": "published",
                    }
                )
    return rows


def feature_parity(folder: Path, ours: pd.DataFrame, start: date, end: date) -> dict[str, float]:
    lo, hi = max(start, TRANSFORMED[0]), min(end, TRANSFORMED[1])
    if lo > hi:
        return {}
    frames = []
    day = lo
    while day <= hi:
        frames.append(pd.read_pickle(folder / "transformed" / f"{day.isoformat()}.pkl"))
        day += timedelta(days=1)
    reference = pd.concat(frames, ignore_index=True)
    columns = tuple(c for c in fdh.BASELINE_FEATURES if c != "TX_AMOUNT")
    keep = ["TRANSACTION_ID", *columns]
    return fdh.match_rate(ours[keep], reference[keep], columns)


def evaluate(
    name: str, split: fdh.Split, features: list[str], config: TrainingConfig
) -> dict[str, object]:
    started = time.perf_counter()
    booster, params = fit_booster(
        split.train, features, "TX_FRAUD", config, time_column="TX_TIME_SECONDS"
    )
    scores = booster.predict(split.test[features].to_numpy(np.float64))
    metrics = classification_metrics(
        split.test["TX_FRAUD"].to_numpy(np.int64),
        np.asarray(scores, dtype=np.float64),
        days=split.test["TX_TIME_DAYS"].to_numpy(np.int64),
        cards=split.test["CUSTOMER_ID"].to_numpy(np.int64),
        k=100,
    )
    return {
        "model": name,
        "auc": round(metrics["auc"], 4),
        "ap": round(metrics["ap"], 4),
        "cp100": round(metrics["cp_at_100"], 4),
        "recall_at_fpr_0.01": round(metrics["recall_at_fpr_0.01"], 4),
        "trees": params["num_boost_round"],
        "seconds": round(time.perf_counter() - started, 1),
        "source": "ours",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-start", type=date.fromisoformat, default=date(2018, 7, 25))
    parser.add_argument(
        "--data", type=Path, default=None, help="default: RISKOPS_FDH_DIR or ../shared"
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help=f"default: {RESULTS}")
    parser.add_argument(
        "--prequential", action="store_true", help="the Chapter 5 rolling protocol, all weeks"
    )
    fdh_prequential.add_arguments(parser)
    parser.add_argument(
        "--no-production",
        dest="production",
        action="store_false",
        help="skip the online-store replay and the model on production features",
    )
    args = parser.parse_args()
    folder = args.data or fdh.data_dir()
    console = Console()
    if not (folder / "raw").is_dir():
        console.print(f"[red]no handbook data at {folder}[/red] (set RISKOPS_FDH_DIR)")
        return 2
    if args.prequential:
        args.out = args.out or fdh_prequential.RESULTS
        return fdh_prequential.run(args, console)
    args.out = args.out or RESULTS
    train_start: date = args.train_start
    test_end = train_start + timedelta(days=20)
    started = time.perf_counter()
    with console.status("loading the handbook's daily files"):
        raw = fdh.load_days(folder / "raw", train_start - timedelta(days=HISTORY_DAYS), test_end)
    with console.status(f"computing features on {len(raw):,} transactions"):
        featured = fdh.add_features(raw)
    feature_seconds = time.perf_counter() - started
    parity = feature_parity(folder, featured, train_start, test_end)
    replay_us = None
    if args.production:
        ordered = raw.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable")
        played = replay(ordered, pd.Timestamp(train_start))
        replay_us = played.per_payment_us
        vectors = pd.DataFrame.from_dict(played.vectors, orient="index", columns=FEATURE_NAMES)
        vectors.index.name = "TRANSACTION_ID"
        featured = featured.merge(vectors, left_on="TRANSACTION_ID", right_index=True, how="left")
    split = fdh.protocol_split(featured, train_start)
    config = TrainingConfig(n_jobs=args.n_jobs)
    ours = []
    with console.status("training LightGBM (baseline features, then ours)"):
        ours.append(
            evaluate(
                "ours: LightGBM, handbook features", split, list(fdh.BASELINE_FEATURES), config
            )
        )
        everything = [*fdh.BASELINE_FEATURES, *fdh.EXTRA_FEATURES]
        ours.append(evaluate("ours: LightGBM, default features", split, everything, config))
        if args.production:
            ours.append(
                evaluate(
                    "ours: LightGBM, production features (online store replay)",
                    split,
                    list(FEATURE_NAMES),
                    config,
                )
            )
    labels = split.test["TX_FRAUD"].to_numpy(np.int64)
    ceiling = classification_metrics(
        labels,
        labels.astype(np.float64),
        days=split.test["TX_TIME_DAYS"].to_numpy(np.int64),
        cards=split.test["CUSTOMER_ID"].to_numpy(np.int64),
    )
    ours.append(
        {
            "model": "ceiling: a perfect scorer",
            "auc": 1.0,
            "ap": 1.0,
            "cp100": round(ceiling["cp_at_100"], 4),
            "source": "reference",
        }
    )
    dates = {
        "train": [train_start.isoformat(), (train_start + timedelta(days=6)).isoformat()],
        "test": [(train_start + timedelta(days=14)).isoformat(), test_end.isoformat()],
    }
    rows = [*(published(folder) if train_start == date(2018, 7, 25) else []), *ours]
    table = Table(title=f"Handbook protocol: train {dates['train']}, test {dates['test']}")
    for column in ("model", "AUC", "AP", "CP@100"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(
            str(row["model"]), f"{row['auc']:.3f}", f"{row['ap']:.3f}", f"{row['cp100']:.3f}"
        )
    console.print(table)
    console.print(
        f"test set: {len(split.test):,} tx, {int(split.test['TX_FRAUD'].sum())} frauds; "
        f"train: {len(split.train):,} tx, {int(split.train['TX_FRAUD'].sum())} frauds; "
        f"features on {len(raw):,} tx in {feature_seconds:.1f}s"
    )
    if replay_us is not None:
        console.print(
            f"production features: {len(raw):,} tx and their labels replayed through the "
            f"online store at {replay_us:.1f} us per payment ({len(FEATURE_NAMES)} features)"
        )
    if parity:
        console.print(
            f"feature parity vs transformed/: {parity['all_features']:.6f} of "
            f"{int(parity['rows']):,} rows match on all 14 features "
            f"({int(parity['rows_mismatched'])} differ)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "protocol": "Fraud Detection Handbook chapter 3 (train 7d, delay 7d, test 7d)",
        "dates": dates,
        "test_rows": len(split.test),
        "test_frauds": int(split.test["TX_FRAUD"].sum()),
        "feature_parity": parity,
        "rows": [{**row, **dates} for row in rows],
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
