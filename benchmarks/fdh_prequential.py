"""The handbook's prequential protocol (Chapter 5) across the whole simulated period.

    python benchmarks/fdh.py --prequential [--weeks N] [--served-days 14] [--n-jobs 1]
        [--cache-dir /tmp/fdh-cache] [--no-ablations]

Rolling folds of 7 days training, 7 days label delay, 7 days test, slid a week at a time
over 2018-04-01..09-30, the test weeks lined up with the handbook's (08-08 is one of them).
The first fold trains on 2018-05-09, once the longest handbook feature (the terminal's 30-day
risk behind a 7-day delay) has its whole history. Every fold trains, in the same run, the
handbook's baselines on its 15 inputs (benchmarks/fdh_models.py) and our served model on the
production feature vectors the online store computes (benchmarks/fdh_replay.py); all are
scored on the same test rows (known-compromised cards removed, riskops.ml.prequential).

Writes benchmarks/results/fdh_prequential.json (per week, mean and population std, the share
of weeks each model is best) and an SVG of the weekly metrics next to it.
"""

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

import fdh_handbook as fdh  # the sibling modules (scripts run as python benchmarks/NAME.py)
from fdh_chart import weekly_chart
from fdh_models import BASELINES, SERVED, SERVED_CANDIDATES, Scored, run_fold, score_booster
from fdh_replay import cached_production_features
from riskops.features import FEATURE_NAMES
from riskops.ml.prequential import Fold, labelled_history, rolling_folds, split_fold
from riskops.ml.training import TrainingConfig, fit_booster

RESULTS = Path(__file__).parent / "results" / "fdh_prequential.json"
ORIGIN = date(2018, 4, 1)
LAST = date(2018, 9, 30)
HANDBOOK_TEST_WEEK = date(2018, 8, 8)
FIRST_TRAIN_DAY = 30 + fdh.DELAY_DAYS  # the terminal's 30-day risk looks back 37 days
METRICS = ("auc", "ap", "cp100")
# Ablations of the served model, reported but not contenders: what the longer training
# window and the spending-profile features each bring (default hyperparameters).
WEEK_ONLY = "ablation: served features, 7-day training, default hyperparameters"
OLD_FEATURES = "ablation: the 94 features before issue 15, served window, default hyperparameters"
ISSUE_15_FEATURES = ("amount", "amount_to_card_mean_30d", "amount_to_card_habit")


def _day(day: int) -> str:
    return (ORIGIN + timedelta(days=day)).isoformat()


def folds(weeks: int | None) -> list[Fold]:
    every = rolling_folds(
        FIRST_TRAIN_DAY,
        (LAST - ORIGIN).days,
        anchor_test_start=(HANDBOOK_TEST_WEEK - ORIGIN).days,
    )
    if weeks is None or weeks >= len(every):
        return every
    # A development run: weeks spread over the period, the issue's two weeks among them.
    picked = np.linspace(0, len(every) - 1, weeks).round().astype(int)
    return [every[i] for i in sorted(set(picked))]


def summary(
    weekly: list[dict[str, object]], models: list[str], contenders: list[str]
) -> dict[str, dict[str, object]]:
    """Mean, population std and, for contenders, the weeks each is best (ties count)."""
    result: dict[str, dict[str, object]] = {}
    for model in models:
        entry: dict[str, object] = {}
        for metric in METRICS:
            values = np.array([w["models"][model][metric] for w in weekly])  # type: ignore[index]
            best = [
                w["models"][model][metric]  # type: ignore[index]
                >= max(w["models"][m][metric] for m in contenders)  # type: ignore[index]
                for w in weekly
            ]
            entry[metric] = {
                "mean": round(float(values.mean()), 4),
                "std": round(float(values.std()), 4),  # population std, as the handbook
            }
            if model in contenders:
                entry[metric] |= {
                    "best_weeks": int(sum(best)),
                    "best_share": round(sum(best) / len(weekly), 3),
                }
        result[model] = entry
    return result


def run(args: argparse.Namespace, console: Console) -> int:
    folder: Path = args.data or fdh.data_dir()
    started = time.perf_counter()
    with console.status("loading all 183 daily files"):
        raw = fdh.load_days(folder / "raw", ORIGIN, LAST)
    with console.status(f"computing the handbook's features on {len(raw):,} transactions"):
        featured = fdh.add_features(raw, extra=False)
    seconds = time.perf_counter() - started
    console.print(f"{len(raw):,} transactions, handbook features in {seconds:.0f}s")
    played = cached_production_features(raw, args.cache_dir)
    console.print(
        f"production features: {len(raw):,} payments and their delayed labels replayed "
        f"through the online store at {played.per_payment_us:.1f} us per payment"
    )
    production = played.frame()
    featured = featured.merge(production, on="TRANSACTION_ID", how="left", validate="1:1")
    del production, played
    chosen = folds(args.weeks)
    contenders = [b.name for b in BASELINES] + [SERVED]
    ablations = [WEEK_ONLY, OLD_FEATURES] if args.ablations else []
    models = contenders + ablations
    old_features = [f for f in FEATURE_NAMES if f not in ISSUE_15_FEATURES]
    weekly: list[dict[str, object]] = []
    # Every other week first, then the rest: a run cut short still spans the whole period.
    order = [*chosen[::2], *chosen[1::2]]
    for number, fold in enumerate(order, 1):
        data = split_fold(featured, fold)
        history = labelled_history(featured, fold, args.served_days)
        with console.status(f"fold {number}/{len(chosen)}: test week {_day(fold.test_start)}"):
            result = run_fold(
                data,
                history,
                baseline_features=fdh.BASELINE_FEATURES,
                served_features=FEATURE_NAMES,
                n_jobs=args.n_jobs,
            )
            scores = dict(result.scores)
            if ablations:
                default = TrainingConfig(n_jobs=args.n_jobs)
                scores[WEEK_ONLY] = _ablation(data.train, data.test, list(FEATURE_NAMES), default)
                scores[OLD_FEATURES] = _ablation(history, data.test, old_features, default)
        weekly.append(
            {
                "train": [_day(fold.train_start), _day(fold.train_end - 1)],
                "served_train": [
                    _day(fold.train_end - args.served_days),
                    _day(fold.train_end - 1),
                ],
                "test": [_day(fold.test_start), _day(fold.test_end - 1)],
                "test_rows": len(data.test),
                "test_frauds": int(data.test["TX_FRAUD"].sum()),
                "served_config": {
                    k: getattr(result.served_config, k)
                    for k in ("learning_rate", "num_leaves", "min_child_samples", "max_rounds")
                },
                "models": {name: scores[name].as_dict() for name in models},
            }
        )
        weekly.sort(key=lambda week: str(week["test"][0]))  # type: ignore[index]
        served = result.scores[SERVED]
        rivals = [result.scores[b.name] for b in BASELINES]
        console.print(
            f"{_day(fold.test_start)}: served AUC {served.auc:.3f} AP {served.ap:.3f} "
            f"CP@100 {served.cp100:.3f} | best baseline AUC {max(s.auc for s in rivals):.3f} "
            f"AP {max(s.ap for s in rivals):.3f} CP@100 {max(s.cp100 for s in rivals):.3f}"
        )
        # Written after every fold: a long run interrupted keeps what it measured.
        _write(args, weekly, models, contenders, len(chosen), started)
    _print(console, weekly, summary(weekly, models, contenders), models)
    console.print(f"written: {args.out} and {args.out.with_suffix('.svg')}")
    return 0


def _write(
    args: argparse.Namespace,
    weekly: list[dict[str, object]],
    models: list[str],
    contenders: list[str],
    planned: int,
    started: float,
) -> None:
    document = {
        "protocol": (
            "Fraud Detection Handbook chapter 5 prequential: 7d train, 7d delay, 7d test, "
            "rolled weekly over 2018-04-01..09-30; known-compromised cards removed from test"
        ),
        "weeks_done": len(weekly),
        "weeks_planned": planned,
        "baselines": {b.name: b.handbook for b in BASELINES},
        "baseline_inputs": list(fdh.BASELINE_FEATURES),
        "served": {
            "features": len(FEATURE_NAMES),
            "training_days": args.served_days,
            "candidates": [
                {k: getattr(c, k) for k in ("learning_rate", "num_leaves", "min_child_samples")}
                | {"max_rounds": c.max_rounds}
                for c in SERVED_CANDIDATES
            ],
            "note": (
                "trained on the last training_days labelled days before the delay week (the "
                "baselines: the handbook's 7), hyperparameters chosen by average precision on "
                "the newest 30% of those rows"
            ),
        },
        "summary": summary(weekly, models, contenders),
        "weeks": weekly,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    args.out.with_suffix(".svg").write_text(weekly_chart(weekly, models, SERVED))


def _ablation(
    train: pd.DataFrame, test: pd.DataFrame, features: list[str], config: TrainingConfig
) -> Scored:
    started = time.perf_counter()
    booster, _ = fit_booster(train, features, "TX_FRAUD", config, time_column="TX_TIME_SECONDS")
    return score_booster(booster, test, features, started)


def _print(
    console: Console,
    weekly: list[dict[str, object]],
    overall: dict[str, dict[str, object]],
    models: list[str],
) -> None:
    table = Table(title="Per test week: AUC / AP / CP@100")
    table.add_column("test week")
    table.add_column("frauds", justify="right")
    for model in models:
        table.add_column(model, justify="right")
    for week in weekly:
        scores = week["models"]
        cells = [
            " / ".join(f"{scores[m][k]:.3f}" for k in METRICS)  # type: ignore[index]
            for m in models
        ]
        table.add_row(str(week["test"][0]), str(week["test_frauds"]), *cells)  # type: ignore[index]
    console.print(table)
    totals = Table(title=f"Mean +- std over {len(weekly)} weeks (best in share of weeks)")
    totals.add_column("model")
    for metric in ("AUC", "AP", "CP@100"):
        totals.add_column(metric, justify="right")
    for model in models:
        cells = []
        for metric in METRICS:
            entry = overall[model][metric]
            best = f" ({entry['best_share']:.0%})" if "best_share" in entry else ""  # type: ignore[operator]
            cells.append(f"{entry['mean']:.3f} +- {entry['std']:.3f}{best}")  # type: ignore[index]
        totals.add_row(model, *cells)
    console.print(totals)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weeks", type=int, default=None, help="a spread of N weeks (dev runs)")
    parser.add_argument(
        "--served-days",
        type=int,
        default=14,
        help="labelled days our model trains on before the delay week (baselines: 7)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="keep the replayed production features here (outside the repo) between runs",
    )
    parser.add_argument(
        "--no-ablations",
        dest="ablations",
        action="store_false",
        help="skip the two ablations of the served model",
    )
