"""A CSV read in batches of whole rows, each row with its true physical line number.

Fast path: a run of lines without a quote character has one row per line and its commas are
its separators, so lines are cut, counted and checked for their number of fields with numpy
on the raw bytes, and the good ones are parsed by pyarrow.csv (vectorised, the GIL released)
as text columns. From the first batch that holds a quote (a quoted field may span lines) or a
lone carriage return (a line end to pyarrow and to the csv module, not to the cut) to
the end of the file, the csv module reads instead, which follows quoted newlines; a file whose
header holds a quote is read so from its start. Either way a batch is the same: text columns,
line numbers, and the lines that are not rows of the header's width.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from riskops.core.errors import BadRequest

READ_BYTES: Final = 1 << 22
_NEWLINE: Final = ord("\n")
_COMMA: Final = ord(",")
_CR: Final = ord("\r")


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class RowBatch:
    lines: npt.NDArray[np.int64]  # of the rows, in file order
    columns: dict[str, pa.Array]  # header name -> the rows' text, as written
    broken: list[BadRow]  # lines whose number of fields is not the header's
    last_line: int  # the last physical line this batch covers (rows, broken or blank)

    def __len__(self) -> int:
        return len(self.lines)


def read_header(source: Path) -> list[str]:
    with source.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if header is None:
        raise BadRequest(f"{source} is empty", {"path": str(source)})
    return header


def read_batches(source: Path, header: list[str], after_line: int, rows: int) -> Iterator[RowBatch]:
    """Batches of at most `rows` lines, starting after physical line `after_line`."""
    with source.open("rb") as handle:
        first = handle.readline()
        if b'"' in first:
            yield from _slow(handle, 0, 0, header, after_line, rows)
            return
        offset, line = len(first), 1  # `line` physical lines lie before `offset`
        pending = b""
        at_end = False
        while True:
            while pending.count(b"\n") < rows and not at_end:
                block = handle.read(READ_BYTES)
                at_end = not block
                pending += block
            if not pending:
                return
            chunk, count = _cut(pending, rows, at_end)
            if line + count <= after_line:  # wholly before the checkpoint
                pending = pending[len(chunk) :]
                offset, line = offset + len(chunk), line + count
                continue
            if b'"' in chunk or chunk.count(b"\r") != chunk.count(b"\r\n"):
                yield from _slow(handle, offset, line, header, after_line, rows)
                return
            batch = _fast(chunk, line, header, after_line)
            if batch is None:  # pyarrow refused it (say, not UTF-8): the csv module decides
                yield from _slow(handle, offset, line, header, after_line, rows)
                return
            yield batch
            pending = pending[len(chunk) :]
            offset, line = offset + len(chunk), line + count


def _cut(pending: bytes, rows: int, at_end: bool) -> tuple[bytes, int]:
    """The first `rows` whole lines of `pending` (all of it at the end) and how many."""
    ends = np.flatnonzero(np.frombuffer(pending, np.uint8) == _NEWLINE)
    if len(ends) >= rows:
        return pending[: int(ends[rows - 1]) + 1], rows
    if at_end:
        last_unterminated = not pending.endswith(b"\n")
        return pending, len(ends) + int(last_unterminated)
    raise AssertionError("the caller reads until `rows` lines or the end")


def _fast(chunk: bytes, line: int, header: list[str], after_line: int) -> RowBatch | None:
    """A batch of quote-free lines; `line` physical lines lie before the chunk."""
    data = np.frombuffer(chunk, np.uint8)
    ends = np.flatnonzero(data == _NEWLINE)
    if not chunk.endswith(b"\n"):
        ends = np.append(ends, len(chunk))
    starts = np.concatenate(([0], ends[:-1] + 1))
    numbers = np.arange(line + 1, line + 1 + len(ends), dtype=np.int64)
    # A line's fields: its commas plus one. Blank lines ("" or a lone "\r") are no rows.
    commas = np.flatnonzero(data == _COMMA)
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    lengths = ends - starts
    carriage = (lengths > 0) & (data[np.maximum(ends - 1, 0)] == _CR)
    blank = (lengths - carriage) == 0
    wanted = numbers > after_line
    good = wanted & ~blank & (fields == len(header))
    wrong = wanted & ~blank & ~good
    broken = [
        BadRow(n, f"{k} fields, the header has {len(header)}")
        for n, k in zip(numbers[wrong].tolist(), fields[wrong].tolist(), strict=True)
    ]
    if good.all():
        body = chunk
    else:  # only the rows go to the parser, in order
        body = b"".join(
            chunk[s : e + 1]
            for s, e in zip(starts[good].tolist(), ends[good].tolist(), strict=True)
        )
    try:
        columns = (
            _parse(body, header) if len(body) else {n: pa.array([], pa.string()) for n in header}
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    lines = numbers[good]
    if any(len(c) != len(lines) for c in columns.values()):
        return None  # the parser saw rows differently: let the csv module decide
    return RowBatch(lines, columns, broken, int(numbers[-1]))


def _parse(body: bytes, header: list[str]) -> dict[str, pa.Array]:
    table = pa_csv.read_csv(
        io.BytesIO(body),
        read_options=pa_csv.ReadOptions(
            column_names=[f"c{i}" for i in range(len(header))], use_threads=False
        ),
        parse_options=pa_csv.ParseOptions(quote_char=False, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(len(header))},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return {name: table.column(i).combine_chunks() for i, name in enumerate(header)}


def _slow(
    handle: BinaryIO, offset: int, line: int, header: list[str], after_line: int, rows: int
) -> Iterator[RowBatch]:
    """The csv module from byte `offset` (a row's start, `line` lines before it) to the end."""
    handle.seek(offset)
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    reader = csv.reader(text)
    if offset == 0:
        next(reader, None)  # the header
    width = len(header)
    numbers: list[int] = []
    values: list[list[str]] = []
    broken: list[BadRow] = []
    last = line
    for row in reader:
        last = line + reader.line_num  # the last physical line of this row
        if last <= after_line:
            continue
        if len(row) != width:
            if row:  # a blank line is no row
                broken.append(BadRow(last, f"{len(row)} fields, the header has {width}"))
            continue
        numbers.append(last)
        values.append(row)
        if len(numbers) >= rows:
            yield _batch(numbers, values, broken, header, last)
            numbers, values, broken = [], [], []
    if numbers or broken:
        yield _batch(numbers, values, broken, header, last)
    text.detach()


def _batch(
    numbers: list[int], values: list[list[str]], broken: list[BadRow], header: list[str], last: int
) -> RowBatch:
    columns = {
        name: pa.array([row[i] for row in values], pa.string()) for i, name in enumerate(header)
    }
    return RowBatch(np.asarray(numbers, dtype=np.int64), columns, broken, last)
