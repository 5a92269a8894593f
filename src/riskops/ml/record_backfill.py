"""Backfill a historical CSV into prediction records of one model (`riskops backfill FILE
--model NAME`): each row is checked against the model's schema, scored and kept as a record,
as `POST /v1/predict` would have, without an HTTP request per row.

- Batched: each batch of rows is one transaction, so an interruption leaves whole batches
  only; a checkpoint file (the last committed line, written after each commit) lets the next
  run start after it.
- Idempotent: a record's id derives from the model, the file and the line, and inserts skip
  an id already stored, so a run resumed from an older checkpoint (a crash between a commit
  and its checkpoint) stores nothing twice.
- Bad rows (a wrong type, an unknown category, a missing value, a broken CSV line) are skipped
  and reported with their line number and reason, on the console and in a rejects file.
- Fast (>= 20,000 rows/s is the target, benchmarks/backfill_records.py): pyarrow reads the
  CSV (csv_batches), Arrow kernels check and encode a column at a time (record_batch), the
  booster scores a batch at a time, and the insert's parameters are built from columns. A
  producer thread prepares batch N+1 while the event loop stores batch N; the checkpoint,
  the bad-row report and the progress follow each commit, in file order, on the loop.
"""

import asyncio
import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.errors import BadRequest
from riskops.core.ids import encode_ulid
from riskops.db import transaction
from riskops.ml.csv_batches import BadRow, RowBatch, read_batches, read_header
from riskops.ml.feature_schema import FeatureSchema
from riskops.ml.record_batch import CheckedBatch, check_batch
from riskops.ml.repository import records as records_table
from riskops.ml.serving import ServedModel

__all__ = ["BackfillResult", "BadRow", "Checkpoint", "backfill_records", "state_files"]

BATCH_ROWS: Final = 5_000
SHOWN_BAD_ROWS: Final = 20  # on the console; the rejects file has every one
TOP_EXPLANATIONS: Final = 5
PREPARED_AHEAD: Final = 2  # batches the producer may hold beyond the one being stored
STOP_SECONDS: Final = 10.0  # the producer finishes its batch and stops within this
# The embedded database's page cache for the run (64 MiB): the five indexes of the records
# table outgrow SQLite's 2 MiB default within a few hundred thousand rows.
_SQLITE_CACHE_KIB: Final = 65_536
_CROCKFORD: Final = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", np.uint8)
_FIVE_BITS: Final = np.array([16, 8, 4, 2, 1], np.uint8)


@dataclass
class Checkpoint:
    """Where a backfill of one file into one model stands (JSON beside the data)."""

    source: str
    model_name: str
    model_version: str
    line: int = 1  # the last line committed (1: the header)
    stored: int = 0
    bad: int = 0

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self)))
        os.replace(temporary, path)  # atomic: a crash leaves the old checkpoint or the new

    @classmethod
    def load(cls, path: Path) -> "Checkpoint | None":
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


@dataclass
class BackfillResult:
    stored: int = 0  # new records
    already: int = 0  # rows whose record an earlier run stored
    bad: list[BadRow] = field(default_factory=list)
    resumed_after: int | None = None  # the checkpoint's line, when this run resumed
    last_line: int = 1
    seconds: float = 0.0  # reading, checking, scoring and storing (not the registry's start)
    # The same on the process's CPU clock (every thread): what the work costs, whatever else
    # shares the machine (a busy machine stretches `seconds`, not this).
    cpu_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.stored + self.already + len(self.bad)


def state_files(data_dir: Path, source: Path, model_name: str) -> tuple[Path, Path]:
    """(checkpoint, rejects) of backfilling `source` into `model_name`."""
    digest = hashlib.blake2b(str(source.resolve()).encode(), digest_size=6).hexdigest()
    stem = data_dir / "backfill" / f"{model_name}-{source.stem}-{digest}"
    return stem.with_suffix(".checkpoint.json"), stem.with_suffix(".rejects.csv")


def record_id(model_name: str, source_key: str, line: int) -> str:
    """The same 26 characters for the same model, file (its resolved path) and line."""
    key = f"{model_name}\0{source_key}\0{line}".encode()
    return encode_ulid(int.from_bytes(hashlib.blake2b(key, digest_size=16).digest()))


def record_ids(model_name: str, source_key: str, lines: Sequence[int]) -> npt.NDArray[np.bytes_]:
    """`record_id` of many lines at once (26-byte ASCII), encoded by numpy, not per row."""
    prefix = f"{model_name}\0{source_key}\0".encode()
    digests = b"".join(
        hashlib.blake2b(prefix + str(line).encode(), digest_size=16).digest() for line in lines
    )
    bits = np.unpackbits(np.frombuffer(digests, np.uint8).reshape(-1, 16), axis=1)
    # 26 Crockford characters of 5 bits hold 130 bits: the text of a 128-bit value starts
    # with two zero bits, as encode_ulid's first lookup does.
    padded = np.concatenate([np.zeros((len(bits), 2), np.uint8), bits], axis=1)
    digits = (padded.reshape(-1, 26, 5) * _FIVE_BITS).sum(axis=2)
    return np.ascontiguousarray(_CROCKFORD[digits]).view("S26").reshape(-1)


@dataclass
class _Prepared:
    """A batch ready to store: its rows' insert parameters, its bad rows, where it ends."""

    last_line: int
    bad: list[BadRow]
    rows: list[Any]  # SQLite: tuples in _SQLITE_INSERT's order; else dicts of the columns


ProgressHook = Callable[[int], None]  # hears the lines done after each committed batch


async def backfill_records(
    engine: AsyncEngine,
    model: ServedModel,
    schema: FeatureSchema,
    source: Path,
    checkpoint_file: Path,
    *,
    threshold: float,
    created_by: str = "backfill",
    batch_rows: int = BATCH_ROWS,
    explain: bool = False,
    on_batch: ProgressHook | None = None,
    on_bad: Callable[[list[BadRow]], None] | None = None,
) -> BackfillResult:
    """Check, score and store every row after the checkpoint; see the module docstring."""
    clock, cpu = time.perf_counter(), time.process_time()
    point = _start(checkpoint_file, source, model)
    result = BackfillResult(resumed_after=point.line if point.line > 1 else None)
    header = read_header(source)
    _check_header(header, schema, model.name)
    sqlite = engine.dialect.name == "sqlite"
    preparer = _Preparer(
        model, schema, point.source, threshold, created_by, datetime.now(UTC), explain, sqlite
    )
    batches = (preparer(b) for b in read_batches(source, header, point.line, batch_rows))
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(records_table).on_conflict_do_nothing(index_elements=["id"])
    producer = _Producer(asyncio.get_running_loop(), batches)
    try:
        while (prepared := await producer.next()) is not None:
            if prepared.rows:
                async with transaction(engine) as connection:
                    if sqlite:
                        new = await _insert_sqlite(connection, prepared.rows)
                    else:
                        outcome = await connection.execute(statement, prepared.rows)
                        new = outcome.rowcount if outcome.rowcount >= 0 else len(prepared.rows)
                result.stored += new
                result.already += len(prepared.rows) - new
            if prepared.bad and on_bad is not None:
                on_bad(prepared.bad)
            result.bad.extend(prepared.bad)
            point.line = prepared.last_line
            point.stored += len(prepared.rows)
            point.bad += len(prepared.bad)
            point.save(checkpoint_file)  # after the commit: a crash before it redoes one batch
            result.last_line = prepared.last_line
            result.seconds = time.perf_counter() - clock
            result.cpu_seconds = time.process_time() - cpu
            if on_batch is not None:
                on_batch(prepared.last_line)
    finally:
        producer.stop()
    return result


class _Producer:
    """Runs the batch iterator on its own thread, at most PREPARED_AHEAD batches ahead of the
    event loop's consumer: reading, checking and scoring (numpy, Arrow and LightGBM release
    the GIL) overlap the database's insert of the batch before."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batches: Iterator[_Prepared]) -> None:
        self._loop = loop
        self._batches = batches
        self._queue: asyncio.Queue[_Prepared | BaseException | None] = asyncio.Queue()
        self._slots = threading.Semaphore(PREPARED_AHEAD)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backfill-prepare", daemon=True)
        self._thread.start()

    async def next(self) -> _Prepared | None:
        """The next batch in file order; None at the end; the producer's error, raised."""
        item = await self._queue.get()
        self._slots.release()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        """Ask the producer to stop after its current batch, and wait for it (bounded)."""
        self._stopping.set()
        self._slots.release()
        self._thread.join(STOP_SECONDS)

    def _run(self) -> None:
        try:
            while True:
                while not self._slots.acquire(timeout=0.1):
                    if self._stopping.is_set():
                        return
                if self._stopping.is_set():
                    return
                item = next(self._batches, None)
                self._hand(item)
                if item is None:
                    return
        except BaseException as error:
            self._hand(error)
        finally:
            close = getattr(self._batches, "close", None)
            if close is not None:  # the file is closed by the thread that reads it
                close()

    def _hand(self, item: _Prepared | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)


@dataclass
class _Preparer:
    """A read batch to insert parameters: checked, scored, keyed (on the producer thread)."""

    model: ServedModel
    schema: FeatureSchema
    source_key: str
    threshold: float
    created_by: str
    started: datetime
    explain: bool
    sqlite: bool

    def __call__(self, batch: RowBatch) -> _Prepared:
        checked = check_batch(self.schema, batch) if len(batch) else None
        bad = sorted([*batch.broken, *(checked.bad if checked else [])], key=lambda b: b.line)
        rows = self._rows(checked) if checked is not None and len(checked.lines) else []
        return _Prepared(batch.last_line, bad, rows)

    def _rows(self, checked: CheckedBatch) -> list[Any]:
        booster = self.model.model.booster
        scores = np.round(booster.predict(checked.matrix, num_threads=1), 6)
        ids = record_ids(self.model.name, self.source_key, checked.lines.tolist())
        ids_text = ids.astype("U26").tolist()
        features: list[str] = checked.features.to_pylist()
        labels = np.where(scores >= self.threshold, "fraud", "legit").tolist()
        explanations = self._explanations(checked, scores, features)
        started = self.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        count = len(checked.lines)
        times = checked.times.to_pylist() if checked.times is not None else [started] * count
        m = self.model
        if self.sqlite:
            rows = list(
                zip(
                    ids_text, repeat(m.name), repeat(m.version), features, scores.tolist(),
                    labels, explanations, repeat(self.created_by), times,
                )
            )  # fmt: skip
            rows.sort()  # by id, unique: each index page is visited once, in order
            return rows
        return [
            {
                "id": i, "model_name": m.name, "model_version": m.version,
                "features": orjson.loads(f), "score": s, "label": label,
                "explanations": orjson.loads(e), "created_by": self.created_by,
                "created_at": datetime.fromisoformat(t).replace(tzinfo=UTC),
            }
            for i, f, s, label, e, t in zip(
                ids_text, features, scores.tolist(), labels, explanations, times, strict=True
            )
        ]  # fmt: skip

    def _explanations(
        self, checked: CheckedBatch, scores: npt.NDArray[np.float64], features: list[str]
    ) -> list[str]:
        """JSON per row: the top contributions of the rows at or above the threshold, when
        asked (they cost ~20x a score per row, and a person looks only at those), else []."""
        explained = (
            np.flatnonzero(scores >= self.threshold) if self.explain else np.empty(0, np.int64)
        )
        written = ["[]"] * len(features)
        if not len(explained):
            return written
        booster = self.model.model.booster
        contributions = booster.predict(checked.matrix[explained], pred_contrib=True, num_threads=1)
        names = self.schema.names
        for position, contribution in zip(explained.tolist(), contributions, strict=True):
            values = orjson.loads(features[position])
            top = np.argsort(-np.abs(contribution[:-1]))[:TOP_EXPLANATIONS]
            written[position] = orjson.dumps(
                [
                    {
                        "feature": names[i],
                        "value": values[names[i]],
                        "contribution": round(float(contribution[i]), 6),
                        "description": self.schema.fields[i].description or names[i],
                    }
                    for i in top
                    if contribution[i] != 0.0
                ]
            ).decode()
        return written


# The columns of PredictionRecord (riskops.ml.models), in this order; a test holds them equal.
_SQLITE_INSERT: Final = (
    "INSERT OR IGNORE INTO prediction_records (id, model_name, model_version, features, score, "
    "label, explanations, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def _insert_sqlite(connection: AsyncConnection, rows: list[Any]) -> int:
    """One executemany on the driver: on the embedded default SQLAlchemy's per-row binding
    (JSON and datetime processors) cost more than SQLite's own insert, measured. Values are
    as SQLAlchemy writes them there: JSON text, naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    await connection.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
    before = await connection.exec_driver_sql("SELECT total_changes()")
    start = int(before.scalar_one())
    await connection.exec_driver_sql(_SQLITE_INSERT, rows)
    after = await connection.exec_driver_sql("SELECT total_changes()")
    return int(after.scalar_one()) - start


def _start(checkpoint_file: Path, source: Path, model: ServedModel) -> Checkpoint:
    return Checkpoint.load(checkpoint_file) or Checkpoint(
        str(source.resolve()), model.name, model.version
    )


def _check_header(header: Sequence[str], schema: FeatureSchema, model_name: str) -> None:
    absent = [n for n in schema.names if n not in header]
    if absent:
        raise BadRequest(
            f"the CSV lacks columns of model {model_name}: {', '.join(absent)}",
            {"missing_columns": absent},
        )
