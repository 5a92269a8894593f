"""Backfill a historical CSV into prediction records of one model (`riskops backfill FILE
--model NAME`): each row is checked against the model's schema, scored and kept as a record,
as `POST /v1/predict` would have, without an HTTP request per row.

- Batched: each batch of rows is one transaction, so an interruption leaves whole batches
  only; a checkpoint file (the last committed line, written after each commit) lets the next
  run start after it.
- Idempotent: a record's id derives from the model, the file and the line, and inserts skip
  an id already stored, so a run resumed from an older checkpoint stores nothing twice.
- Bad rows (a wrong type, an unknown category, a missing value, a broken CSV line) are skipped
  and reported with their line number and reason, on the console and in a rejects file.
- Fast: the CSV is read by the csv module (true line numbers, even with quoted newlines),
  checked and encoded a column at a time, scored by the booster a batch at a time.
"""

import csv
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.errors import BadRequest
from riskops.core.ids import encode_ulid
from riskops.db import transaction
from riskops.ml.feature_schema import FeatureField, FeatureSchema, FieldType
from riskops.ml.repository import records as records_table
from riskops.ml.serving import ServedModel

BATCH_ROWS: Final = 5_000
SHOWN_BAD_ROWS: Final = 20  # on the console; the rejects file has every one
TOP_EXPLANATIONS: Final = 5
_TRUE: Final = frozenset({"true", "1", "1.0", "yes"})
_FALSE: Final = frozenset({"false", "0", "0.0", "no"})
# What pandas reads as missing by default: the training table was read so, the history must be.
_EMPTY: Final = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip


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


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


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


def read_batches(
    source: Path, after_line: int, rows: int
) -> Iterator[tuple[list[str], list[tuple[int, list[str]]], list[BadRow]]]:
    """(header, [(line, values)], broken lines) per batch, starting after `after_line`."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise BadRequest(f"{source} is empty", {"path": str(source)})
        width = len(header)
        batch: list[tuple[int, list[str]]] = []
        broken: list[BadRow] = []
        for values in reader:
            line = reader.line_num  # the last physical line of this row
            if line <= after_line:
                continue
            if len(values) != width:
                if values:  # a blank line is no row
                    broken.append(BadRow(line, f"{len(values)} fields, the header has {width}"))
                continue
            batch.append((line, values))
            if len(batch) >= rows:
                yield header, batch, broken
                batch, broken = [], []
        if batch or broken:
            yield header, batch, broken


@dataclass
class CheckedBatch:
    lines: list[int]  # of the good rows
    matrix: npt.NDArray[np.float64]  # encoded for the booster
    values: list[list[Any]]  # per feature: the typed values (None: missing)
    times: list[datetime] | None
    bad: list[BadRow]


def check_batch(
    schema: FeatureSchema, header: Sequence[str], rows: list[tuple[int, list[str]]]
) -> CheckedBatch:
    """Check every value of a batch against the schema, a column at a time."""
    frame = pd.DataFrame([values for _, values in rows], columns=list(header), dtype=object)
    lines = np.fromiter((line for line, _ in rows), np.int64, len(rows))
    reasons: dict[int, str] = {}
    encoded, typed = [], []
    for f in schema.fields:
        codes, values, problem = _column(f, frame[f.name])  # object dtype: no arrow copy
        for position in np.flatnonzero(problem):
            reasons.setdefault(int(position), f"{f.name}={frame[f.name].iat[position]!r}: "
                               f"expected {f.expected()}")  # fmt: skip
        encoded.append(codes)
        typed.append(values)
    times = None
    if schema.time_column and schema.time_column in frame.columns:
        parsed = pd.to_datetime(
            frame[schema.time_column], utc=True, errors="coerce", format="mixed"
        )
        for position in np.flatnonzero(parsed.isna().to_numpy()):
            reasons.setdefault(
                int(position), f"{schema.time_column}={frame[schema.time_column].iat[position]!r}: "
                "expected a date and time"
            )  # fmt: skip
        times = parsed
    good = np.ones(len(rows), dtype=bool)
    good[list(reasons)] = False
    matrix = np.column_stack(encoded)[good] if encoded else np.empty((int(good.sum()), 0))
    kept = [list(np.asarray(v, dtype=object)[good]) for v in typed]
    return CheckedBatch(
        lines=lines[good].tolist(),
        matrix=matrix,
        values=kept,
        times=[t.to_pydatetime() for t in times[good]] if times is not None else None,
        bad=[BadRow(int(lines[p]), reason) for p, reason in sorted(reasons.items())],
    )


def _column(
    f: FeatureField, text: "pd.Series[str]"
) -> tuple[npt.NDArray[np.float64], list[Any], npt.NDArray[np.bool_]]:
    """(codes for the booster, typed values for the record, which rows are wrong)."""
    stripped = text.str.strip()
    empty = stripped.isin(_EMPTY).to_numpy()
    wrong = empty.copy() if not f.nullable else np.zeros(len(text), dtype=bool)
    if f.type is FieldType.CATEGORY:
        codes = pd.Index(list(f.categories)).get_indexer(stripped)
        unknown = (codes < 0) & ~empty
        values = np.where(codes >= 0, codes, np.nan).astype(np.float64)
        typed: list[Any] = [None if e else s for e, s in zip(empty, stripped, strict=True)]
        return values, typed, wrong | unknown
    if f.type is FieldType.BOOLEAN:
        lowered = stripped.str.lower()
        truth, falsity = lowered.isin(_TRUE).to_numpy(), lowered.isin(_FALSE).to_numpy()
        values = np.where(truth, 1.0, np.where(falsity, 0.0, np.nan))
        typed = [None if e else bool(t) for e, t in zip(empty, truth, strict=True)]
        return values, typed, wrong | (~truth & ~falsity & ~empty)
    numbers = pd.to_numeric(stripped.where(~empty, None), errors="coerce").to_numpy(np.float64)
    unreadable = ~np.isfinite(numbers) & ~empty
    if f.type is FieldType.INTEGER:
        unreadable |= np.isfinite(numbers) & (numbers != np.round(numbers))
    if f.bounded:
        low = -np.inf if f.minimum is None else f.minimum
        high = np.inf if f.maximum is None else f.maximum
        unreadable |= np.isfinite(numbers) & ((numbers < low) | (numbers > high))
    numbers = np.where(empty, np.nan, numbers)
    if f.type is FieldType.INTEGER:
        typed = [None if math.isnan(n) else int(n) for n in numbers.tolist()]
    else:
        typed = [None if math.isnan(n) else n for n in numbers.tolist()]
    return numbers, typed, wrong | unreadable


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
    started = datetime.now(UTC)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(records_table).on_conflict_do_nothing(index_elements=["id"])
    names = schema.names
    header_checked = False
    for header, rows, broken in read_batches(source, point.line, batch_rows):
        if not header_checked:
            _check_header(header, schema, model.name)
            header_checked = True
        checked = check_batch(schema, header, rows) if rows else None
        bad = sorted([*broken, *(checked.bad if checked else [])], key=lambda b: b.line)
        stored_rows: list[dict[str, Any]] = []
        if checked is not None and checked.lines:
            stored_rows = _records(
                model, schema, names, checked, point.source, threshold, created_by, started, explain
            )
            async with transaction(engine) as connection:
                if engine.dialect.name == "sqlite":
                    new = await _insert_sqlite(connection, stored_rows)
                else:
                    outcome = await connection.execute(statement, stored_rows)
                    new = outcome.rowcount if outcome.rowcount >= 0 else len(stored_rows)
            result.stored += new
            result.already += len(stored_rows) - new
        last = max([*(line for line, _ in rows), *(b.line for b in broken)])
        if bad and on_bad is not None:
            on_bad(bad)
        result.bad.extend(bad)
        point.line = last
        point.stored += len(stored_rows)
        point.bad += len(bad)
        point.save(checkpoint_file)  # after the commit: a crash before it redoes one batch
        result.last_line = last
        result.seconds = time.perf_counter() - clock
        result.cpu_seconds = time.process_time() - cpu
        if on_batch is not None:
            on_batch(last)
    return result


# The columns of PredictionRecord (riskops.ml.models), in this order; a test holds them equal.
_SQLITE_INSERT: Final = (
    "INSERT OR IGNORE INTO prediction_records (id, model_name, model_version, features, score, "
    "label, explanations, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def _insert_sqlite(connection: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """One executemany on the driver: on the embedded default SQLAlchemy's per-row binding
    (JSON and datetime processors) cost more than SQLite's own insert, measured. Values are
    written as SQLAlchemy writes them there: JSON text, naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    values = [
        (
            r["id"], r["model_name"], r["model_version"], orjson.dumps(r["features"]).decode(),
            r["score"], r["label"], orjson.dumps(r["explanations"]).decode(), r["created_by"],
            r["created_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        for r in rows
    ]  # fmt: skip
    before = await connection.exec_driver_sql("SELECT total_changes()")
    start = int(before.scalar_one())
    await connection.exec_driver_sql(_SQLITE_INSERT, values)
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


def _records(
    model: ServedModel,
    schema: FeatureSchema,
    names: list[str],
    checked: CheckedBatch,
    source_key: str,
    threshold: float,
    created_by: str,
    started: datetime,
    explain: bool,
) -> list[dict[str, Any]]:
    scores = np.round(model.model.booster.predict(checked.matrix, num_threads=1), 6)
    # Contributions cost ~20x a score per row: only on request, and only for the rows a
    # person would look at (at or above the review threshold, as on the decision path).
    explained = np.flatnonzero(scores >= threshold) if explain else np.empty(0, np.int64)
    contributions = (
        model.model.booster.predict(checked.matrix[explained], pred_contrib=True, num_threads=1)
        if len(explained)
        else np.empty((0, len(names) + 1))
    )
    features = [dict(zip(names, row, strict=True)) for row in zip(*checked.values, strict=True)]
    explanations: list[list[dict[str, Any]]] = [[] for _ in checked.lines]
    for position, contribution in zip(explained.tolist(), contributions, strict=True):
        top = np.argsort(-np.abs(contribution[:-1]))[:TOP_EXPLANATIONS]
        explanations[position] = [
            {
                "feature": names[i],
                "value": features[position][names[i]],
                "contribution": round(float(contribution[i]), 6),
                "description": schema.fields[i].description or names[i],
            }
            for i in top
            if contribution[i] != 0.0
        ]
    times = checked.times or [started] * len(checked.lines)
    score_list = scores.tolist()
    return [
        {
            "id": record_id(model.name, source_key, line),
            "model_name": model.name,
            "model_version": model.version,
            "features": features[i],
            "score": score,
            "label": "fraud" if score >= threshold else "legit",
            "explanations": explanations[i],
            "created_by": created_by,
            "created_at": times[i],
        }
        for i, (line, score) in enumerate(zip(checked.lines, score_list, strict=True))
    ]
