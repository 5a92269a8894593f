"""Backfill: history through the real pipeline in event order, labels stored after the delay."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from benchmarks.fdh_handbook import data_dir
from sqlalchemy import select

from riskops.core.errors import BadRequest
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.labels.models import Label
from riskops.ml.backfill import backfill, read_frame
from tests.conftest import Api
from tests.payments import CARD

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def csv_file(tmp_path: Path) -> Path:
    minutes = [30, 0, 10, 20]  # deliberately not in event order
    frame = pd.DataFrame(
        {
            "account_id": ["acct-b"] * 4,
            "amount_minor": [100, 200, 300, 400],
            "currency": ["EUR"] * 4,
            "card_number": [CARD] * 4,
            "merchant_id": ["m-1", "m-2", "m-3", "m-4"],
            "merchant_category": ["5411"] * 4,
            "merchant_country": ["DE"] * 4,
            "channel": ["pos"] * 4,
            "occurred_at": [(START + timedelta(minutes=m)).isoformat() for m in minutes],
            "label": [1, 0, None, 0],
        }
    )
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return path


async def test_backfill_replays_in_event_order_with_delayed_labels(
    api: Api, tmp_path: Path
) -> None:
    frame = read_frame(csv_file(tmp_path))
    submitted, labelled = await backfill(api.runtime, frame, timedelta(days=7))
    assert (submitted, labelled) == (4, 3)
    txns, decisions, labels = table_of(Transaction), table_of(Decision), table_of(Label)
    async with api.runtime.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(txns.c.amount_minor, txns.c.occurred_at, decisions.c.features)
                .join(decisions, decisions.c.transaction_id == txns.c.id)
                .order_by(txns.c.occurred_at)
            )
        ).all()
        stored = (
            await connection.execute(
                select(txns.c.amount_minor, labels.c.label, labels.c.labelled_at).join(
                    labels, labels.c.transaction_id == txns.c.id
                )
            )
        ).all()
    # Event order: the card's hourly count grows 1, 2, 3, 4 with the event time.
    assert [r.amount_minor for r in rows] == [200, 300, 400, 100]
    assert [r.features["card_count_1h"] for r in rows] == [1, 2, 3, 4]
    by_amount = {r.amount_minor: (r.label, r.labelled_at) for r in stored}
    assert by_amount == {
        100: (1, START + timedelta(minutes=30, days=7)),
        200: (0, START + timedelta(days=7)),
        400: (0, START + timedelta(minutes=20, days=7)),
    }
    # A rerun is idempotent: same source rows, same keys, nothing stored twice.
    assert await backfill(api.runtime, frame, timedelta(days=7)) == (4, 0)


async def test_backfill_reads_the_handbooks_pickles(api: Api) -> None:
    path = data_dir() / "raw" / "2018-04-01.pkl"
    if not path.exists():
        pytest.skip(f"the handbook's data is not at {path} (set RISKOPS_FDH_DIR)")
    frame = read_frame(path)
    submitted, labelled = await backfill(api.runtime, frame, timedelta(days=7), limit=40)
    assert (submitted, labelled) == (40, 40)
    async with api.runtime.engine.connect() as connection:
        merchants = (await connection.execute(select(table_of(Transaction).c.merchant_id))).all()
    assert all(m.merchant_id.startswith("fdh-t") for m in merchants)


def test_bad_files_are_refused_clearly(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BadRequest, match=r"expected \.csv, \.parquet"):
        read_frame(text)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadRequest, match=r"no \.pkl files"):
        read_frame(empty)
