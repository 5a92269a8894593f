"""`riskops export`: decisions (with their feature vectors), labels and case closings as
Parquet, by day.

Incremental: each run continues from a watermark kept beside the files (`_watermarks.json`,
the (created_at, id) of the last row written per table). A part file is named after its
first row, so a run interrupted between writing a file and moving the watermark rewrites the
same file on the next run instead of adding a second copy: reruns never write a row twice.
Rows younger than `settle` wait for the next run, because with several writers a row can
commit a moment after a younger one and the watermark must not pass it.

Files use Hive-style folders (`decisions/day=2026-12-01/part-<id>.parquet`), a column per
feature and `occurred_at` as the event time, so pandas, DuckDB and Feast's file source read
them as they are. Destinations are a folder or `s3://bucket/prefix` (pyarrow's S3 client:
credentials from the AWS_* variables; `?endpoint_override=host:port&scheme=http` for MinIO).
"""

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.features import FEATURE_NAMES
from riskops.offline import repository
from riskops.offline.repository import Position

WATERMARKS = "_watermarks.json"
TIME = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "decisions": pa.schema(
        [
            ("transaction_id", pa.string()),
            ("occurred_at", TIME),
            ("created_at", TIME),
            ("account_id", pa.string()),
            ("card_token", pa.string()),
            ("card_bin", pa.string()),
            ("amount_minor", pa.int64()),
            ("currency", pa.string()),
            ("merchant_id", pa.string()),
            ("merchant_category", pa.string()),
            ("merchant_country", pa.string()),
            ("channel", pa.string()),
            ("device_id", pa.string()),
            ("user_id", pa.string()),
            ("status", pa.string()),
            ("basis", pa.string()),
            ("score", pa.float64()),
            ("score_source", pa.string()),
            ("reason_codes", pa.list_(pa.string())),
            ("ruleset_version", pa.string()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            *((name, pa.float64()) for name in FEATURE_NAMES),
        ]
    ),
    "labels": pa.schema(
        [
            ("id", pa.string()),
            ("transaction_id", pa.string()),
            ("label", pa.int8()),
            ("source", pa.string()),
            ("labelled_at", TIME),
            ("created_at", TIME),
        ]
    ),
    # One row per closing of a case (offline/repository.py says why); created_at is when it
    # was closed. The disposition's free-text reason stays in the database: analysts write
    # anything there, and the offline store is read far more widely.
    "cases": pa.schema(
        [
            ("disposition_id", pa.string()),
            ("case_id", pa.string()),
            ("created_at", TIME),
            ("opened_at", TIME),
            ("sla_due_at", TIME),
            ("disposition", pa.string()),
            ("actor", pa.string()),
            ("labels_written", pa.int64()),
            ("source", pa.string()),
            ("priority", pa.float64()),
            ("score", pa.float64()),
            ("amount_minor", pa.int64()),
            ("currency", pa.string()),
            ("country", pa.string()),
            ("channel", pa.string()),
            ("card_token", pa.string()),
            ("transaction_id", pa.string()),
            ("reason_codes", pa.list_(pa.string())),
            ("payments", pa.int64()),
            ("seconds_open", pa.float64()),
            ("within_sla", pa.bool_()),
        ]
    ),
}
# The column that identifies a row of each table (the watermark's tie-breaker and part names).
KEYS = {"decisions": "transaction_id", "labels": "id", "cases": "disposition_id"}
Progress = Callable[[str, int], None]  # (table, rows just written)


@dataclass
class ExportResult:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCHEMAS, 0))
    files: list[str] = field(default_factory=list)


class Destination:
    """A folder on a local disk or in S3, written file by file."""

    def __init__(self, uri: str) -> None:
        if "://" not in uri:
            uri = str(Path(uri).resolve())
            Path(uri).mkdir(parents=True, exist_ok=True)
        self.fs, self.root = fs.FileSystem.from_uri(uri)
        self.local = self.fs.type_name == "local"

    def _path(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def read_watermarks(self) -> dict[str, Position]:
        info = self.fs.get_file_info(self._path(WATERMARKS))
        if info.type == fs.FileType.NotFound:
            return {}
        with self.fs.open_input_stream(self._path(WATERMARKS)) as stream:
            saved = json.loads(stream.read())
        return {table: (datetime.fromisoformat(at), key) for table, (at, key) in saved.items()}

    def write_watermarks(self, marks: dict[str, Position]) -> None:
        data = {table: [at.isoformat(), key] for table, (at, key) in marks.items()}
        self._write(WATERMARKS, json.dumps(data, indent=2).encode())

    def write_table(self, name: str, table: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        self._write(name, sink.getvalue().to_pybytes())

    def _write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        # An S3 PUT is all or nothing; on a disk, a rename makes it so.
        target = f"{path}.partial" if self.local else path
        with self.fs.open_output_stream(target) as stream:
            stream.write(data)
        if self.local:
            self.fs.move(target, path)


async def pending(
    engine: AsyncEngine, uri: str, start: datetime, end: datetime, settle: timedelta
) -> int:
    """Rows a run would write now (for a progress bar's total)."""
    marks, end = Destination(uri).read_watermarks(), min(end, _settled(settle))
    async with engine.connect() as connection:
        return sum(
            [await repository.count(connection, t, marks.get(t), start, end) for t in SCHEMAS]
        )


async def export(
    engine: AsyncEngine,
    uri: str,
    start: datetime,
    end: datetime,
    *,
    settle: timedelta = timedelta(minutes=1),
    batch: int = 20_000,
    progress: Progress | None = None,
) -> ExportResult:
    """Write every row created in [start, end) and not exported before; return what was written."""
    destination = Destination(uri)
    marks = destination.read_watermarks()
    end = min(end, _settled(settle))
    result = ExportResult()
    for table in SCHEMAS:
        while True:
            async with engine.connect() as connection:
                rows = await repository.page(connection, table, marks.get(table), start, end, batch)
            if not rows:
                break
            for day, chunk in _by_day(rows).items():
                name = f"{table}/day={day}/part-{_first_id(table, chunk)}.parquet"
                destination.write_table(name, _arrow(table, chunk))
                result.files.append(name)
            last = rows[-1]
            marks[table] = (last["created_at"], _first_id(table, [last]))
            destination.write_watermarks(marks)  # only after the files it covers exist
            result.rows[table] += len(rows)
            if progress is not None:
                progress(table, len(rows))
    return result


def _settled(settle: timedelta) -> datetime:
    return datetime.now(UTC) - settle


def _first_id(table: str, rows: list[dict[str, Any]]) -> str:
    return str(rows[0][KEYS[table]])


def _by_day(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        days[row["created_at"].astimezone(UTC).date().isoformat()].append(row)
    return days


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = SCHEMAS[table]
    if table == "decisions":
        rows = [
            {**row, **{name: row["features"].get(name) for name in FEATURE_NAMES}} for row in rows
        ]
    elif table == "cases":
        rows = [_case_closing(row) for row in rows]
    return pa.Table.from_pylist(rows, schema=schema)


def _case_closing(row: dict[str, Any]) -> dict[str, Any]:
    closed, opened = row["created_at"], row["opened_at"]
    return {
        **row,
        "labels_written": len(row["labels"] or []),
        "seconds_open": (closed - opened).total_seconds(),
        "within_sla": closed <= row["sla_due_at"],
    }
