"""`riskops train --data` and `riskops backfill FILE --model NAME` in a fresh data folder:
bad rows are skipped and named by line, an interrupted run resumes after its checkpoint, and
a rerun from an older checkpoint stores nothing twice."""

import asyncio
import csv
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from riskops.cli import app
from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.ml import record_backfill as rb
from riskops.ml.models import PredictionRecord
from riskops.ml.records import resolve, schema_of
from riskops.ml.service import open_registry
from riskops.ml.serving import ModelServer
from tests.conftest import make_settings
from tests.ml.tables import make_table, write_table

runner = CliRunner()
ROWS = 1_000
# Physical lines (the header is line 1) and what is wrong with each.
BAD = {
    5: ("amount", "abc"),
    600: ("country", "XX"),
    700: ("amount", ""),
    800: ("age", "41.5"),
}
BROKEN = 650  # one field too many


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RISKOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RISKOPS_DATABASE_URL", raising=False)
    return tmp_path


def riskops(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # as read, whatever the wrapping


def history(folder: Path) -> Path:
    """A historical CSV for the model, with bad rows at known lines."""
    frame = make_table(ROWS, seed=9).drop(columns=["is_fraud"])
    rows = [list(frame.columns), *frame.astype(object).where(frame.notna(), "").values.tolist()]
    header = rows[0]
    for line, (column, value) in BAD.items():
        rows[line - 1][header.index(column)] = value
    rows[BROKEN - 1] = [*rows[BROKEN - 1], "surplus"]
    path = folder / "history.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def count_records(data_dir: Path) -> int:
    async def count() -> int:
        engine = create_engine(make_settings(data_dir).resolved_database_url)
        try:
            async with engine.connect() as connection:
                query = select(func.count()).select_from(table_of(PredictionRecord))
                return int((await connection.execute(query)).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


class Interrupted(Exception):
    """Stands for Ctrl-C after the second committed batch."""


def interrupted_run(data_dir: Path, source: Path) -> tuple[int, list[rb.BadRow]]:
    """Backfill until the second batch is committed, then stop as an interrupt would."""
    settings = make_settings(data_dir)
    checkpoint, _ = rb.state_files(data_dir, source, "claims")
    reported: list[rb.BadRow] = []

    committed: list[int] = []

    def stop_after_two(line: int) -> None:
        committed.append(line)
        if len(committed) == 2:
            raise Interrupted(line)

    async def run() -> None:
        registry = open_registry(settings)
        served = await resolve(
            "claims", ModelServer(canary_share=0, explain_above=1), registry, "x"
        )
        engine = create_engine(settings.resolved_database_url)
        try:
            await rb.backfill_records(
                engine,
                served,
                schema_of(served),
                source,
                checkpoint,
                threshold=settings.review_threshold,
                batch_rows=200,
                on_batch=stop_after_two,
                on_bad=reported.extend,
            )
        finally:
            await engine.dispose()

    with pytest.raises(Interrupted) as stopped:
        asyncio.run(run())
    # The thread that prepares batches ahead stopped with the run.
    assert not [t for t in threading.enumerate() if t.name == "backfill-prepare"]
    point = rb.Checkpoint.load(checkpoint)
    assert point is not None and point.line == stopped.value.args[0]
    return point.line, reported


def test_train_on_a_table_then_backfill_its_history_resumably(data_dir: Path) -> None:
    code, output = riskops(
        "train", "--data", str(write_table(data_dir)), "--target", "is_fraud",
        "--time", "seen_at", "--name", "claims",
    )  # fmt: skip
    assert code == 0, output
    assert "registered claims v1 as champion" in output
    assert "not a feature: customer_id" in output
    assert "model_id 'claims'" in output

    source = history(data_dir)
    line, reported = interrupted_run(data_dir, source)
    assert line == 401  # two batches of 200 rows after the header (line 1)
    assert [(b.line, b.reason) for b in reported] == [(5, "amount='abc': expected a number")]
    assert count_records(data_dir) == 400 - 1  # whole batches only, the bad row skipped

    code, output = riskops("backfill", str(source), "--model", "claims", "--batch-rows", "250")
    assert code == 0, output
    assert "resumed after line 401" in output
    assert "line 600: country='XX': expected one of 'DE', 'FR', 'KP', 'US'" in output
    assert "line 650: 7 fields, the header has 6" in output
    assert "line 700: amount='': expected a number" in output
    assert "line 800: age='41.5': expected an integer or null" in output
    good = ROWS - len(BAD) - 1
    assert count_records(data_dir) == good
    checkpoint, rejects = rb.state_files(data_dir, source, "claims")
    rejected = list(csv.reader(rejects.read_text().splitlines()))
    assert [row[0] for row in rejected] == ["600", "650", "700", "800"]

    # A crash between a commit and its checkpoint: the next run redoes work, stores nothing.
    point = rb.Checkpoint.load(checkpoint)
    assert point is not None and point.line == ROWS + 1
    point.line = 1
    point.save(checkpoint)
    code, output = riskops("backfill", str(source), "--model", "claims")
    assert code == 0, output
    assert f"0 records of claims v1 stored, {good - 0:,} already there" in output
    assert count_records(data_dir) == good


def test_the_fast_sqlite_insert_names_every_column_of_the_table() -> None:
    named = rb._SQLITE_INSERT.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert named == [c.name for c in table_of(PredictionRecord).columns]


def test_clear_refusals_from_train_and_backfill(data_dir: Path) -> None:
    table = write_table(data_dir, rows=300)
    missing = riskops("train", "--data", str(data_dir / "nope.csv"), "--target", "y", "--name", "m")
    target = riskops("train", "--data", str(table), "--target", "fraud", "--name", "m")
    not_binary = riskops("train", "--data", str(table), "--target", "age", "--name", "m")
    few = write_table(data_dir, rows=120, name="few.csv")
    too_few = riskops("train", "--data", str(few), "--target", "is_fraud", "--name", "m")
    no_model = riskops("backfill", str(table), "--model", "nothing")
    assert missing[0] == 1 and "nope.csv does not exist" in missing[1]
    assert target[0] == 1 and "there is no target column 'fraud'" in target[1]
    assert not_binary[0] == 1 and "target 'age' is not binary" in not_binary[1]
    assert too_few[0] == 1 and "120 rows with a target value" in too_few[1]
    assert no_model[0] == 1 and "model 'nothing' does not exist" in no_model[1]


async def test_backfill_stores_the_same_records_on_either_engine(
    data_dir: Path, database_url: str
) -> None:
    """SQLite's executemany and PostgreSQL's insert hold the same ids, features and times."""
    from riskops.db.migrate import upgrade

    table = str(write_table(data_dir, rows=600))
    train = ["train", "--data", table, "--target", "is_fraud", "--time", "seen_at"]
    # The command runs its own event loop: on a thread of its own, beside this test's.
    code, output = await asyncio.to_thread(riskops, *train, "--name", "claims")
    assert code == 0, output
    source = history(data_dir)
    frame = make_table(ROWS, seed=9)
    settings = make_settings(data_dir)
    server = ModelServer(canary_share=0, explain_above=1)
    served = await resolve("claims", server, open_registry(settings), "x")
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        checkpoint, _ = rb.state_files(data_dir, source, "claims")
        result = await rb.backfill_records(
            engine, served, schema_of(served), source, checkpoint, threshold=0.5,
            batch_rows=300, explain=True,
        )  # fmt: skip
        table = table_of(PredictionRecord)
        async with engine.connect() as connection:
            stored = (await connection.execute(select(table))).mappings().all()
    finally:
        await engine.dispose()
    assert result.stored == len(stored) == ROWS - len(BAD) - 1
    by_id = {r["id"]: r for r in stored}
    line = 3  # the table's second row
    expected = frame.iloc[line - 2]
    record = by_id[rb.record_id("claims", str(source.resolve()), line)]
    assert record["features"]["amount"] == pytest.approx(expected["amount"])
    assert record["features"]["country"] == expected["country"]
    assert record["created_at"].isoformat() == expected["seen_at"]
    assert record["label"] == ("fraud" if record["score"] >= 0.5 else "legit")
    explained = [r for r in stored if r["score"] >= 0.5]
    assert all(r["explanations"] for r in explained)
    assert all(r["explanations"] == [] for r in stored if r["score"] < 0.5)
