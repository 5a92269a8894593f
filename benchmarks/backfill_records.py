"""Backfill benchmark: a historical CSV of 200,000 rows scored into records of a model trained
on a table, on the embedded default (SQLite), through the real commands an operator runs:

    riskops train --data claims.csv --target is_fraud --time seen_at --name claims
    riskops backfill history.csv --model claims

The issue wants at least 20,000 rows/s; the figure is the backfill's own rate (reading,
checking, scoring, storing in batched transactions), which the command prints, not MLflow's
start. Every 1,000th row is broken on purpose, so the bad-row path is in the measurement.

    .venv/bin/python benchmarks/backfill_records.py [--rows 200000] [--keep DIR]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "backfill_records.json"


def table(rows: int, seed: int, start: datetime) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.gamma(2.0, 60.0, rows), 2)
    country = rng.choice(["DE", "FR", "KP", "US", "ES", "IT"], rows)
    channel = rng.choice(["pos", "web", "phone"], rows).astype(object)
    channel[rng.random(rows) < 0.1] = None
    age = rng.integers(18, 80, rows).astype(np.float64)
    age[rng.random(rows) < 0.15] = np.nan
    items = rng.integers(1, 12, rows)
    tenure_days = rng.integers(0, 4_000, rows)
    logit = -3.5 + 0.01 * amount + 2.5 * (country == "KP") + 0.8 * (channel == "web")
    logit -= 0.0004 * tenure_days
    seconds = np.cumsum(rng.integers(1, 20, rows))
    return pd.DataFrame(
        {
            "amount": amount,
            "country": country,
            "channel": channel,
            "age": age,
            "items": items,
            "tenure_days": tenure_days,
            "seen_at": [(start + timedelta(seconds=int(s))).isoformat() for s in seconds],
            "is_fraud": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def riskops(data_dir: Path, *args: str) -> str:
    environment = {**os.environ, "RISKOPS_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    environment.pop("RISKOPS_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "riskops", *args],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"riskops {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="riskops-backfill-"))
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    training = folder / "claims.csv"
    table(20_000, 1, start).to_csv(training, index=False)
    history = folder / "history.csv"
    frame = table(args.rows, 2, start + timedelta(days=60)).drop(columns=["is_fraud"])
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[frame.index % 1_000 == 999, "amount"] = "n/a"  # bad rows, reported and skipped
    frame.to_csv(history, index=False)
    print(f"wrote {training} and {history} ({args.rows:,} rows)")
    trained = riskops(
        folder, "train", "--data", str(training), "--target", "is_fraud",
        "--time", "seen_at", "--name", "claims",
    )  # fmt: skip
    print(trained.strip().splitlines()[0])
    started = time.perf_counter()
    output = riskops(folder, "backfill", str(history), "--model", "claims")
    wall = time.perf_counter() - started
    summary = next(line for line in output.splitlines() if "rows/s" in line)
    found = re.search(r"\(([\d,]+) rows/s; ([\d,]+) rows per CPU second\)", summary)
    assert found is not None, summary
    rate, cpu_rate = (float(found.group(i).replace(",", "")) for i in (1, 2))
    print(summary)
    result = {
        "rows": args.rows,
        "rows_per_second": rate,
        "rows_per_cpu_second": cpu_rate,
        "load_average_1m": os.getloadavg()[0],
        "command_seconds_including_start": round(wall, 1),
        "summary": summary,
        "engine": "sqlite (embedded default)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_rows_per_second": 20_000,
        "passed": rate >= 20_000,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
