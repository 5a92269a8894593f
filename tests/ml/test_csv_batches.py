"""The backfill's CSV reader: its fast path (pyarrow on quote-free lines) reads every file as
the csv module does, with the same line numbers, broken lines and resume point; a quote
hands the rest of the file to the csv module; record ids are computed in bulk exactly as one
at a time; the column checks give the typed values and the reasons a row is refused."""

import csv
from pathlib import Path

import orjson
import pytest

from riskops.ml import csv_batches
from riskops.ml.csv_batches import RowBatch, read_batches, read_header
from riskops.ml.feature_schema import FeatureField, FeatureSchema, FieldType
from riskops.ml.record_backfill import record_id, record_ids
from riskops.ml.record_batch import check_batch

HEADER = ["amount", "country", "age", "seen_at"]
LINES = [
    "12.5,DE,41,2025-03-02T10:00:00+00:00",
    "",  # blank: no row
    " 7 , FR ,,2025-03-02T10:00:01+02:00",
    "1,2",  # too few fields
    "   ",  # whitespace only: one field, broken
    "5.,KP,41.0,2025-03-02 10:00:02",
    "n/a,US,18,2025-03-02T10:00:03+00:00,extra",  # too many
    "+3,XX,41.5,yesterday",
    "1e2,DE,20,2025-03-02",
]


def write(folder: Path, lines: list[str], end: str = "\n", last_end: bool = True) -> Path:
    path = folder / "history.csv"
    body = end.join([",".join(HEADER), *lines]) + (end if last_end else "")
    path.write_bytes(body.encode())
    return path


def by_csv_module(path: Path, after_line: int) -> tuple[list[int], list[list[str]], list[int]]:
    """(row lines, rows, broken lines) as the csv module reads the file."""
    lines, rows, broken = [], [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            if reader.line_num <= after_line:
                continue
            if len(row) == len(HEADER):
                lines.append(reader.line_num)
                rows.append(row)
            elif row:
                broken.append(reader.line_num)
    return lines, rows, broken


def flatten(batches: list[RowBatch]) -> tuple[list[int], list[list[str]], list[int]]:
    lines = [n for b in batches for n in b.lines.tolist()]
    rows = [
        list(values)
        for b in batches
        for values in zip(*(b.columns[n].to_pylist() for n in HEADER), strict=True)
    ]
    broken = [bad.line for b in batches for bad in b.broken]
    return lines, rows, broken


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("last_end", [True, False])
@pytest.mark.parametrize("rows", [1, 3, 100])
@pytest.mark.parametrize("after_line", [1, 4, 7])
def test_the_fast_path_reads_as_the_csv_module(
    tmp_path: Path, end: str, last_end: bool, rows: int, after_line: int
) -> None:
    path = write(tmp_path, LINES, end, last_end)
    batches = list(read_batches(path, read_header(path), after_line, rows))
    assert flatten(batches) == by_csv_module(path, after_line)
    assert batches[-1].last_line == len(LINES) + 1
    assert all(len(b) <= rows for b in batches)
    reasons = {5: "2 fields", 6: "1 fields", 8: "5 fields"}
    assert [(r.line, r.reason) for b in batches for r in b.broken] == [
        (n, f"{fields}, the header has 4") for n, fields in reasons.items() if n > after_line
    ]


def test_a_quoted_newline_hands_the_rest_to_the_csv_module(tmp_path: Path) -> None:
    lines = [*LINES, '"3",DE,"4\n2",2025-03-02T10:00:00+00:00', *LINES]
    path = write(tmp_path, lines)
    for after_line in (1, 5, len(LINES) + 3):
        batches = list(read_batches(path, read_header(path), after_line, 4))
        assert flatten(batches) == by_csv_module(path, after_line)
    quoted = by_csv_module(path, 1)[1].index(["3", "DE", "4\n2", "2025-03-02T10:00:00+00:00"])
    assert by_csv_module(path, 1)[0][quoted] == len(LINES) + 3  # its last physical line


def test_a_lone_carriage_return_and_bad_utf8_go_to_the_csv_module(tmp_path: Path) -> None:
    path = write(tmp_path, ["1,DE,2,x\r3,FR,4,y", *LINES])
    assert flatten(list(read_batches(path, HEADER, 1, 50))) == by_csv_module(path, 1)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"amount,country,age,seen_at\n1,D\xff,2,x\n")
    with pytest.raises(UnicodeDecodeError):
        list(read_batches(broken, HEADER, 1, 50))


def test_record_ids_in_bulk_are_the_ids_one_at_a_time() -> None:
    lines = [2, 3, 10, 99_999, 1_000_001]
    bulk = record_ids("claims", "/data/history.csv", lines).astype("U26").tolist()
    assert bulk == [record_id("claims", "/data/history.csv", n) for n in lines]


def test_the_column_checks_give_typed_values_and_reasons(tmp_path: Path) -> None:
    schema = FeatureSchema(
        (
            FeatureField("amount", FieldType.NUMBER),
            FeatureField("country", FieldType.CATEGORY, categories=("DE", "FR", "KP", "US")),
            FeatureField("age", FieldType.INTEGER, nullable=True),
        ),
        time_column="seen_at",
    )
    path = write(tmp_path, LINES)
    (batch,) = read_batches(path, HEADER, 1, 100)
    checked = check_batch(schema, batch)
    assert checked.lines.tolist() == [2, 4, 7, 10]
    assert [orjson.loads(f) for f in checked.features.to_pylist()] == [
        {"amount": 12.5, "country": "DE", "age": 41},
        {"amount": 7.0, "country": "FR", "age": None},
        {"amount": 5.0, "country": "KP", "age": 41},
        {"amount": 100.0, "country": "DE", "age": 20},
    ]
    assert checked.times is not None and checked.times.to_pylist() == [
        "2025-03-02 10:00:00.000000",
        "2025-03-02 08:00:01.000000",
        "2025-03-02 10:00:02.000000",
        "2025-03-02 00:00:00.000000",
    ]
    assert [(b.line, b.reason) for b in checked.bad] == [
        (9, "country='XX': expected one of 'DE', 'FR', 'KP', 'US'"),
    ]
    assert checked.matrix.tolist()[1][:2] == [7.0, 1.0]


def test_the_fast_path_is_taken_for_a_plain_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_: object) -> object:
        raise AssertionError("the csv module read a quote-free file")

    monkeypatch.setattr(csv_batches, "_slow", refused)
    path = write(tmp_path, LINES)
    assert flatten(list(read_batches(path, HEADER, 1, 3))) == by_csv_module(path, 1)
