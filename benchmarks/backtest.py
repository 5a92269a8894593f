"""Backtest benchmark: 100,000 stored decisions replayed with a candidate and the active ruleset.

Decisions are written straight into the tables (the decision path is benchmarked elsewhere),
with a full feature vector each and a label on every tenth; the figure is the backtest job's
own time (read, replay, keep), which the issue wants at most 10 s on this machine.

    .venv/bin/python benchmarks/backtest.py [--decisions 100000]
"""

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.decisions.models import Decision, Transaction
from riskops.decisions.policy import Thresholds, decide
from riskops.decisions.scoring import rules_only_score
from riskops.features import FEATURE_NAMES
from riskops.labels.models import Label
from riskops.ledger.models import Account
from riskops.rules import RulesEngine, transaction_variables
from riskops.rulesets import repository, service
from riskops.rulesets.backtest import run_backtest
from riskops.rulesets.replay import stored_payment
from riskops.rulesets.validation import build_ruleset

START = datetime(2026, 11, 1, tzinfo=UTC)
_FLOAT_MARKERS = ("mean", "ratio", "rate", "share")
CANDIDATE_RULE = {
    "id": "big_amount",
    "name": "Large payment",
    "description": "Payments above 220.00",
    "expression": "amount_minor > 22000",
    "action": "decline",
    "reason_code": "LARGE_AMOUNT",
    "severity": "high",
    "mode": "active",
}


def stored_decision(
    index: int,
    occurred_at: datetime,
    amount_minor: int,
    features: dict[str, Any],
    label: int | None,
    *,
    account: str = "acct-bench",
    merchant: str = "m-1",
    status: str = "approve",
    rule_hits: list[dict[str, Any]] | None = None,
    score: float = 0.0,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A transaction row, its decision row and its label row (None when unlabelled)."""
    txn_id = f"T{index:025d}"
    txn = {
        "id": txn_id,
        "account_id": account,
        "idempotency_key": f"bench-{index}",
        "request_hash": "0" * 64,
        "amount_minor": amount_minor,
        "currency": "EUR",
        "card_token": f"card-{index % 5000}",
        "card_bin": "411111",
        "card_last4": "1111",
        "merchant_id": merchant,
        "merchant_category": "5411",
        "merchant_country": "DE",
        "channel": "pos",
        "device_id": None,
        "ip": None,
        "user_id": None,
        "occurred_at": occurred_at,
        "created_at": occurred_at,
    }
    decision = {
        "transaction_id": txn_id,
        "status": status,
        "basis": "score",
        "score": score,
        "score_source": "rules",
        "reason_codes": [],
        "rule_hits": rule_hits or [],
        "rule_errors": [],
        "explanations": [],
        "features": features,
        "ruleset_version": "1",
        "model_name": None,
        "model_version": None,
        "latency_ms": 1.0,
        "created_at": occurred_at,
    }
    label_row = None
    if label is not None:
        label_row = {
            "id": f"L{index:025d}",
            "transaction_id": txn_id,
            "label": label,
            "source": "backfill",
            "labelled_at": occurred_at + timedelta(days=7),
            "created_at": occurred_at,
            "event_id": None,
        }
    return txn, decision, label_row


async def store(
    engine: AsyncEngine,
    rows: Iterable[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]],
    accounts: Iterable[str] = ("acct-bench",),
) -> int:
    """Insert the rows in batches (executemany); returns how many decisions were stored."""
    stored = 0
    async with transaction(engine) as connection:
        for account in accounts:
            await connection.execute(
                insert(table_of(Account)).values(id=account, currency="EUR", created_at=START)
            )
    batch: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]] = []

    async def flush() -> None:
        async with transaction(engine) as connection:
            await connection.execute(insert(table_of(Transaction)), [b[0] for b in batch])
            await connection.execute(insert(table_of(Decision)), [b[1] for b in batch])
            labels = [b[2] for b in batch if b[2] is not None]
            if labels:
                await connection.execute(insert(table_of(Label)), labels)

    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            await flush()
            stored += len(batch)
            batch = []
    if batch:
        await flush()
        stored += len(batch)
    return stored


def synthetic(count: int, engine: RulesEngine, seed: int = 7) -> Iterable[tuple[Any, Any, Any]]:
    """Decisions as version 1 made them live: its hits, rules-only score and outcome."""
    rng = random.Random(seed)
    thresholds = Thresholds(review=0.5, decline=0.8)
    for index in range(count):
        features: dict[str, Any] = {
            name: (
                round(rng.uniform(0, 5000), 2)
                if any(marker in name for marker in _FLOAT_MARKERS)
                else rng.randint(0, 8)
            )
            for name in FEATURE_NAMES
        }
        amount = int(rng.lognormvariate(8, 1.2))
        label = (1 if amount > 22000 else 0) if index % 10 == 0 else None
        at = START + timedelta(seconds=index)
        row = stored_decision(index, at, amount, features, label)
        payment = stored_payment(row[0])
        hits = engine.evaluate({**features, **transaction_variables(payment)}).hits
        score = rules_only_score(hit.severity.weight for hit in hits)
        outcome, _ = decide([hit.action for hit in hits], score, thresholds)
        recorded = [
            {"rule_id": h.rule_id, "action": h.action.value, "reason_code": h.reason_code,
             "severity": h.severity.value}
            for h in hits
        ]  # fmt: skip
        yield stored_decision(
            index, at, amount, features, label,
            status=outcome.value, rule_hits=recorded, score=score,
        )  # fmt: skip


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await upgrade(engine)
        async with engine.connect() as connection:
            version_1 = await repository.active_version(connection)
        assert version_1 is not None
        rules = RulesEngine(build_ruleset("1", version_1["rules"]))
        began = time.perf_counter()
        stored = await store(engine, synthetic(count, rules))
        print(f"stored {stored:,} decisions in {time.perf_counter() - began:.1f} s")
        author = Principal(key_id="bench-analyst", name="bench", role=Role.ANALYST)
        async with transaction(engine) as connection:
            active = await repository.active_version(connection)
            assert active is not None
            created = await service.create_draft(
                connection,
                author,
                rules=[*active["rules"], CANDIDATE_RULE],
                base_version=None,
                from_version=None,
                comment="benchmark",
            )

        async def progress(_: float) -> None:
            return None

        began = time.perf_counter()
        result = await run_backtest(
            engine,
            created["id"],
            START,
            START + timedelta(days=365),
            Thresholds(review=0.5, decline=0.8),
            progress,
        )
        seconds = time.perf_counter() - began
        await engine.dispose()
    print(
        f"backtest of {result['decisions']:,} decisions: {seconds:.2f} s "
        f"({result['decisions'] / seconds:,.0f} decisions/s; target: 100,000 in <= 10 s); "
        f"{result['changed_decisions']:,} outcomes change"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().decisions))
