"""A batch of CSV text checked against a model's schema and encoded, a column at a time.

Every step is an Arrow or numpy kernel over the whole column: trimming, the missing-value
tokens, number syntax (a regex, then a cast of the well-formed values), categories to codes,
dates. A wrong value marks its row with the first reason in schema order, as the 422 of
`POST /v1/predict` would name it. The record's features are built as JSON text by joining
per-column fragments (no dict per row), with the values as `orjson` writes the typed ones.
"""

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskops.ml.csv_batches import BadRow, RowBatch
from riskops.ml.feature_schema import FeatureField, FeatureSchema, FieldType

_TRUE: Final = pa.array(["true", "1", "1.0", "yes"])
_FALSE: Final = pa.array(["false", "0", "0.0", "no"])
# What pandas reads as missing by default: the training table was read so, the history must be.
_EMPTY: Final = pa.array(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip
# A finite decimal number as written in a CSV (what pandas' to_numeric reads as one).
_NUMBER: Final = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_LARGEST_EXACT_INTEGER: Final = 2.0**53
_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"  # Arrow's %S carries the microseconds


@dataclass
class CheckedBatch:
    lines: npt.NDArray[np.int64]  # of the good rows
    matrix: npt.NDArray[np.float64]  # encoded for the booster
    features: pa.StringArray  # the typed values as JSON objects
    times: pa.StringArray | None  # naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff', or no time column
    bad: list[BadRow]


@dataclass
class _Column:
    codes: npt.NDArray[np.float64]
    json: pa.Array  # a JSON value per row (null: missing)
    wrong: npt.NDArray[np.bool_]


def check_batch(schema: FeatureSchema, batch: RowBatch) -> CheckedBatch:
    """Check every value of a batch against the schema; see the module docstring."""
    size = len(batch)
    reasons: dict[int, str] = {}
    encoded: list[npt.NDArray[np.float64]] = []
    fragments: list[pa.Array | str] = []
    for f in schema.fields:
        text = batch.columns[f.name]
        column = _column(f, text)
        expected = f.expected()
        _note(reasons, column.wrong, text, f.name, expected)
        encoded.append(column.codes)
        separator = "{" if not fragments else ","
        fragments += [
            separator + orjson.dumps(f.name).decode() + ":",
            column.json.fill_null("null"),
        ]
    times = None
    if schema.time_column and schema.time_column in batch.columns:
        text = batch.columns[schema.time_column]
        times, missing = _times(text)
        name = schema.time_column
        _note(reasons, missing, text, name, "a date and time")
    good = np.ones(size, dtype=bool)
    good[list(reasons)] = False
    keep = pa.array(good)
    matrix = np.column_stack(encoded)[good] if encoded else np.empty((int(good.sum()), 0))
    features = (
        pc.binary_join_element_wise(*fragments, "}", "") if fragments else pa.array(["{}"] * size)
    )
    return CheckedBatch(
        lines=batch.lines[good],
        matrix=matrix,
        features=pc.filter(features, keep),
        times=pc.filter(times, keep) if times is not None else None,
        bad=[BadRow(int(batch.lines[p]), reason) for p, reason in sorted(reasons.items())],
    )


def _note(
    reasons: dict[int, str], wrong: npt.NDArray[np.bool_], text: pa.Array, name: str, expected: str
) -> None:
    """The first reason of each wrong row: the value as written and what was expected."""
    positions = np.flatnonzero(wrong)
    if len(positions):
        shown = text.take(pa.array(positions)).to_pylist()
        for position, value in zip(positions.tolist(), shown, strict=True):
            reasons.setdefault(position, f"{name}={value!r}: expected {expected}")


def _column(f: FeatureField, text: pa.Array) -> _Column:
    stripped = pc.utf8_trim_whitespace(text)
    empty = _mask(pc.is_in(stripped, value_set=_EMPTY))
    wrong = empty.copy() if not f.nullable else np.zeros(len(text), dtype=bool)
    if f.type is FieldType.CATEGORY:
        codes = pc.index_in(stripped, value_set=pa.array(list(f.categories), pa.string()))
        known = _mask(pc.is_valid(codes))
        values = codes.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
        as_json = pa.array([orjson.dumps(c).decode() for c in f.categories], pa.string())
        json = pc.if_else(pa.array(empty), pa.nulls(len(text), pa.string()), as_json.take(codes))
        return _Column(values, json, wrong | (~known & ~empty))
    if f.type is FieldType.BOOLEAN:
        lowered = pc.utf8_lower(stripped)
        truth = _mask(pc.is_in(lowered, value_set=_TRUE))
        falsity = _mask(pc.is_in(lowered, value_set=_FALSE))
        values = np.where(truth, 1.0, np.where(falsity, 0.0, np.nan))
        json = pa.array(np.where(truth, "true", "false"), pa.string())
        json = pc.if_else(pa.array(empty), pa.nulls(len(text), pa.string()), json)
        return _Column(values, json, wrong | (~truth & ~falsity & ~empty))
    numbers = _numbers(stripped)
    finite = np.isfinite(numbers)
    unreadable = ~finite & ~empty
    if f.type is FieldType.INTEGER:
        unreadable |= finite & (numbers != np.round(numbers))
    if f.bounded:
        low = -np.inf if f.minimum is None else f.minimum
        high = np.inf if f.maximum is None else f.maximum
        unreadable |= finite & ((numbers < low) | (numbers > high))
    numbers = np.where(empty, np.nan, numbers)
    present = np.isfinite(numbers)
    return _Column(numbers, _number_json(f, numbers, present), wrong | unreadable)


def _numbers(stripped: pa.Array) -> npt.NDArray[np.float64]:
    """Each well-formed value as a float, NaN for the rest."""
    written = _mask(pc.match_substring_regex(stripped, _NUMBER))
    try:
        safe = pc.if_else(pa.array(written), stripped, "0")
        numbers = pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # a form the cast does not know: pandas reads this column
        series = pd.Series(stripped.to_pylist(), dtype=object)
        coerced: npt.NDArray[np.float64] = pd.to_numeric(series, errors="coerce").to_numpy(
            np.float64
        )
        return coerced
    return np.where(written, numbers, np.nan).astype(np.float64)


def _number_json(
    f: FeatureField, numbers: npt.NDArray[np.float64], present: npt.NDArray[np.bool_]
) -> pa.Array:
    """The values as `orjson` writes the typed ones (an int for an integer field)."""
    mask = pa.array(~present)
    if f.type is FieldType.INTEGER:
        if np.all(np.abs(numbers[present]) < _LARGEST_EXACT_INTEGER):
            whole = np.where(present, numbers, 0.0).astype(np.int64)
            return pc.cast(pa.array(whole, mask=~present), pa.string())
        written = [
            str(int(n)) if ok else None for n, ok in zip(numbers.tolist(), present, strict=True)
        ]
        return pa.array(written, pa.string())
    # Python's shortest round-trip text, as orjson writes a float ("100.0", not Arrow's "100").
    return pa.array([repr(n) for n in numbers.tolist()], pa.string(), mask=mask)


def _times(text: pa.Array) -> tuple[pa.StringArray, npt.NDArray[np.bool_]]:
    """(naive UTC text, which rows are no date and time): ISO 8601 by Arrow's cast; any
    other form, or a batch where the cast fails, as pandas reads it (format="mixed")."""
    stripped = pc.utf8_trim_whitespace(text)
    try:
        stamps = pc.cast(stripped, pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        try:  # no zone offsets: UTC, as pandas with utc=True takes them
            stamps = pc.cast(stripped, pa.timestamp("us"))
        except pa.ArrowInvalid:
            parsed = pd.to_datetime(
                pd.Series(text.to_pylist(), dtype=object), utc=True, errors="coerce", format="mixed"
            )
            stamps = pa.array(parsed).cast(pa.timestamp("us", "UTC"), safe=False)
    naive = stamps.cast(pa.timestamp("us"))
    missing = _mask(pc.is_null(naive))
    return pc.strftime(naive, format=_TIME_FORMAT), missing


def _mask(array: pa.Array) -> npt.NDArray[np.bool_]:
    """A boolean Arrow array as numpy, null as False."""
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
