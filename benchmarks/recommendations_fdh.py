"""Does the continuous scan recommend what is compromised? The Fraud Detection Handbook's
data replayed through the product's tables, labels arriving after their delay.

    python benchmarks/recommendations_fdh.py [--start 2018-05-10] [--scan-from 2018-06-01]
        [--end 2018-07-15] [--interval-hours 6] [--db PATH]

A fresh SQLite database is migrated by the product's migrations. The simulated clock advances
by `--interval-hours`; before each step the payments that happened in it are written (the
handbook's customer is our card and account, its terminal our merchant, as
riskops.ml.backfill maps them) and the labels that became known in it (every payment's label
arrives the handbook's 7 days after it), then the product's scan runs at that time
(riskops.recommendations.scan with the shipped ScanPolicy; every read it makes is bounded by
its clock). Payments are written in bulk rather than decided one by one: the decision path is
measured elsewhere (benchmarks/decisions.py) and without a model its score is 0, so the
near-threshold detector stays silent here; the handbook has no devices or IPs, so no rings.

Reported:
- recall of scenario-2 terminals (first compromised between --scan-from and the end minus
  --settle days) and of scenario-3 customers likewise: the share the scan recommended;
- precision: a terminal recommendation is right when the terminal had scenario-2 fraud in the
  21 days before it (the label window plus the delay), an account recommendation when its
  customer had scenario-3 fraud then (and, separately, any fraud);
- delays from the first fraud, and from the first known label, to the recommendation.
Writes benchmarks/results/recommendations_fdh.json.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select

import fdh_handbook as fdh  # the sibling module (scripts run as python benchmarks/NAME.py)
from riskops.core.outcome import Outcome
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label
from riskops.ledger.models import Account
from riskops.recommendations.candidates import ScanPolicy
from riskops.recommendations.models import Recommendation
from riskops.recommendations.scan import scan

RESULTS = Path(__file__).parent / "results" / "recommendations_fdh.json"
DELAY = timedelta(days=fdh.DELAY_DAYS)
CHUNK = 5_000
ORIGIN = pd.Timestamp("2018-04-01")


@dataclass
class Recommended:
    id: str
    kind: str
    entity: str
    at: datetime  # the simulated time of the scan that created it


@dataclass
class Replay:
    frame: pd.DataFrame
    created: list[Recommended] = field(default_factory=list)
    scans: int = 0
    scan_seconds: list[float] = field(default_factory=list)
    write_seconds: float = 0.0


def utc(value: Any) -> datetime:
    return pd.Timestamp(value).tz_localize(UTC).to_pydatetime()


def rows_of(part: pd.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime.now(UTC)
    payments, decisions = [], []
    for row in part.itertuples(index=False):
        tx_id = f"FDH{int(row.TRANSACTION_ID):023d}"
        customer = int(row.CUSTOMER_ID)
        payments.append(
            {
                "id": tx_id,
                "account_id": f"fdh-c{customer}",
                "idempotency_key": tx_id,
                "request_hash": tx_id,
                "amount_minor": max(1, round(float(row.TX_AMOUNT) * 100)),
                "currency": "EUR",
                "card_token": f"fdh-card-{customer}",  # a token: no card number exists here
                "card_bin": "400000",
                "card_last4": f"{customer % 10_000:04d}",
                "merchant_id": f"fdh-t{int(row.TERMINAL_ID)}",
                "merchant_category": "5999",
                "merchant_country": "FR",
                "channel": "pos",
                "device_id": None,
                "ip": None,
                "user_id": None,
                "occurred_at": utc(row.TX_DATETIME),
                "created_at": now,
            }
        )
        decisions.append(
            {
                "transaction_id": tx_id,
                "status": Outcome.APPROVE.value,
                "basis": "score",
                "score": 0.0,
                "score_source": "none",
                "reason_codes": [],
                "rule_hits": [],
                "rule_errors": [],
                "shadow_hits": None,
                "explanations": [],
                "features": {},
                "ruleset_version": "fdh",
                "model_name": None,
                "model_version": None,
                "latency_ms": 0.0,
                "created_at": now,
            }
        )
    return payments, decisions


def labels_of(part: pd.DataFrame) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"L{int(row.TRANSACTION_ID):025d}",
            "transaction_id": f"FDH{int(row.TRANSACTION_ID):023d}",
            "label": int(row.TX_FRAUD),
            "source": "backfill",
            "labelled_at": utc(row.TX_DATETIME) + DELAY,
            "created_at": now,
            "event_id": None,
        }
        for row in part.itertuples(index=False)
    ]


async def write(engine: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with transaction(engine) as connection:
            await connection.execute(insert(table), rows[start : start + CHUNK])


async def run(args: argparse.Namespace, frame: pd.DataFrame, db: Path) -> Replay:
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    await upgrade(engine)
    accounts = [
        {"id": f"fdh-c{c}", "currency": "EUR", "created_at": datetime.now(UTC)}
        for c in sorted(frame["CUSTOMER_ID"].unique())
    ]
    await write(engine, table_of(Account), accounts)
    replay = Replay(frame)
    times = frame["TX_DATETIME"].to_numpy()
    known = (frame["TX_DATETIME"] + DELAY).to_numpy()
    label_order = np.argsort(known, kind="stable")
    known_sorted = known[label_order]
    step = pd.Timedelta(hours=args.interval_hours)
    clock = pd.Timestamp(args.start)
    end = pd.Timestamp(args.end) + pd.Timedelta(days=1)
    scan_from = pd.Timestamp(args.scan_from)
    policy = ScanPolicy()
    previous = clock - pd.Timedelta(seconds=1)  # the first day's midnight payments too
    while clock < end:
        clock = min(clock + step, end)
        lo, hi = np.searchsorted(times, [previous.to_datetime64(), clock.to_datetime64()], "right")
        llo, lhi = np.searchsorted(
            known_sorted, [previous.to_datetime64(), clock.to_datetime64()], "right"
        )
        started = time.perf_counter()
        payments, decisions = rows_of(frame.iloc[lo:hi])
        await write(engine, table_of(Transaction), payments)
        await write(engine, table_of(Decision), decisions)
        await write(engine, table_of(Label), labels_of(frame.iloc[label_order[llo:lhi]]))
        replay.write_seconds += time.perf_counter() - started
        previous = clock
        if clock < scan_from:
            continue
        started = time.perf_counter()
        result = await scan(engine, policy, utc(clock))
        replay.scan_seconds.append(time.perf_counter() - started)
        replay.scans += 1
        if result.failures:
            raise RuntimeError(f"detectors failed: {result.failures}")
        if result.created:
            table = table_of(Recommendation)
            async with engine.connect() as connection:
                found = await connection.execute(
                    select(table.c.id, table.c.entity_kind, table.c.entity_id).where(
                        table.c.id.in_(result.created)
                    )
                )
                for rec_id, kind, entity in found.all():
                    replay.created.append(Recommended(rec_id, kind, entity, utc(clock)))
        print(f"\r{clock:%Y-%m-%d %H:%M} scans {replay.scans} recommendations "
              f"{len(replay.created)}", end="", flush=True)  # fmt: skip
    print()
    await engine.dispose()
    return replay


EVIDENCE_SPAN = ScanPolicy().label_window + DELAY  # what a recommendation can rest on


def truth(frame: pd.DataFrame, scenario: int, key: str) -> dict[int, np.ndarray]:
    """Entity -> sorted times of its frauds of this scenario."""
    part = frame[frame["TX_FRAUD_SCENARIO"] == scenario]
    return {
        int(entity): np.sort(group["TX_DATETIME"].to_numpy()) for entity, group in part.groupby(key)
    }


def evaluate(
    replay: Replay,
    kind: str,
    prefix: str,
    compromised: dict[int, np.ndarray],
    any_fraud: dict[int, np.ndarray],
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> dict[str, Any]:
    recs = [r for r in replay.created if r.kind == kind]
    span = np.timedelta64(EVIDENCE_SPAN)

    def hit(times: np.ndarray | None, at: datetime) -> bool:
        if times is None:
            return False
        moment = np.datetime64(at.replace(tzinfo=None))
        return bool(((times <= moment) & (times > moment - span)).any())

    right = [r for r in recs if hit(compromised.get(int(r.entity[len(prefix) :])), r.at)]
    right_any = [r for r in recs if hit(any_fraud.get(int(r.entity[len(prefix) :])), r.at)]
    targets = {e: t for e, t in compromised.items() if window[0] <= pd.Timestamp(t[0]) < window[1]}
    first_rec: dict[int, datetime] = {}
    for r in recs:
        entity = int(r.entity[len(prefix) :])
        if entity in targets and pd.Timestamp(r.at.replace(tzinfo=None)) >= pd.Timestamp(
            targets[entity][0]
        ):
            first_rec.setdefault(entity, r.at)
    delays = [
        (pd.Timestamp(at.replace(tzinfo=None)) - pd.Timestamp(targets[e][0])) / pd.Timedelta(days=1)
        for e, at in first_rec.items()
    ]
    after_label = [d - DELAY / timedelta(days=1) for d in delays]
    return {
        "recommended": len(recs),
        "correct": len(right),
        "precision": round(len(right) / len(recs), 4) if recs else None,
        "precision_any_fraud": round(len(right_any) / len(recs), 4) if recs else None,
        "compromised_in_window": len(targets),
        "recalled": len(first_rec),
        "recall": round(len(first_rec) / len(targets), 4) if targets else None,
        "median_days_from_first_fraud": round(statistics.median(delays), 3) if delays else None,
        "median_days_from_first_label": round(statistics.median(after_label), 3)
        if after_label
        else None,
        "p90_days_from_first_label": round(float(np.percentile(after_label, 90)), 3)
        if after_label
        else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 5, 10))
    parser.add_argument("--scan-from", type=date.fromisoformat, default=date(2018, 6, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2018, 7, 15))
    parser.add_argument("--settle", type=int, default=14, help="days a late compromise gets")
    parser.add_argument("--interval-hours", type=float, default=6.0)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: temporary)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = fdh.data_dir()
    if not (folder / "raw").is_dir():
        print(f"no handbook data at {folder} (set RISKOPS_FDH_DIR)", file=sys.stderr)
        return 2
    began = time.perf_counter()
    frame = fdh.load_days(folder / "raw", args.start, args.end)
    frame = frame.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(
        drop=True
    )
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or Path(scratch) / "fdh.db"
        replay = asyncio.run(run(args, frame, db))
    window = (
        pd.Timestamp(args.scan_from),
        pd.Timestamp(args.end) - pd.Timedelta(days=args.settle - 1),
    )
    fraud = frame[frame["TX_FRAUD"] == 1]
    any_by_terminal = {
        int(t): np.sort(g["TX_DATETIME"].to_numpy()) for t, g in fraud.groupby("TERMINAL_ID")
    }
    any_by_customer = {
        int(c): np.sort(g["TX_DATETIME"].to_numpy()) for c, g in fraud.groupby("CUSTOMER_ID")
    }
    terminals = evaluate(replay, "merchant", "fdh-t", truth(frame, 2, "TERMINAL_ID"),
                         any_by_terminal, window)  # fmt: skip
    customers = evaluate(replay, "account", "fdh-c", truth(frame, 3, "CUSTOMER_ID"),
                         any_by_customer, window)  # fmt: skip
    scans = replay.scan_seconds
    targets = {
        "terminal_recall": 0.9,
        "terminal_precision": 0.8,
        "median_days_from_first_label": 2.0,
    }
    met = {
        "terminal_recall": (terminals["recall"] or 0) >= targets["terminal_recall"],
        "terminal_precision": (terminals["precision"] or 0) >= targets["terminal_precision"],
        "median_days_from_first_label": terminals["median_days_from_first_label"] is not None
        and terminals["median_days_from_first_label"] <= targets["median_days_from_first_label"],
    }
    document = {
        "data": {
            "days": [args.start.isoformat(), args.end.isoformat()],
            "scans_from": args.scan_from.isoformat(),
            "compromise_window": [window[0].date().isoformat(), window[1].date().isoformat()],
            "transactions": len(frame),
            "frauds": int(frame["TX_FRAUD"].sum()),
            "label_delay_days": fdh.DELAY_DAYS,
        },
        "scan": {
            "interval_hours": args.interval_hours,
            "scans": replay.scans,
            "median_scan_seconds": round(statistics.median(scans), 3) if scans else None,
            "p95_scan_seconds": round(float(np.percentile(scans, 95)), 3) if scans else None,
            "policy": {f.name: str(getattr(ScanPolicy(), f.name)) for f in fields(ScanPolicy)},
        },
        "scenario_2_terminals": terminals,
        "scenario_3_customers": customers,
        "targets": targets,
        "met": met,
        "write_seconds": round(replay.write_seconds, 1),
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(
        json.dumps(
            {k: document[k] for k in ("scenario_2_terminals", "scenario_3_customers", "met")},
            indent=2,
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
