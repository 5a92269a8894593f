"""Models for any table (`riskops train --data`): read a CSV or Parquet file, infer its typed
schema, train with the fraud model's time split and metrics, and say plainly what is wrong
with a table that cannot be trained on.

The target must be binary: 0/1, true/false, yes/no, or any two values with `positive` naming
the one to predict. Rows are ordered by the time column when one is given, else kept in file
order; the newest share is the holdout, never trained on. Text columns become categories
(an identifier, with more distinct values than a category can have, is left out and said so);
missing values stay missing (LightGBM learns where they go).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from riskops.core.errors import Unprocessable
from riskops.ml.feature_schema import FeatureSchema, encode_frame, infer_field
from riskops.ml.training import TrainedModel, TrainingConfig, time_split, train_model

MIN_ROWS: Final = 200
MIN_POSITIVES: Final = 5
LABEL: Final = "__label__"
ORDER: Final = "__order__"
_POSITIVE_WORDS: Final = {"1", "true", "yes", "y", "t", "fraud", "positive"}
_NEGATIVE_WORDS: Final = {"0", "false", "no", "n", "f", "legit", "genuine", "negative"}


class UnusableTable(Unprocessable):
    code = "unusable_table"


@dataclass
class PreparedTable:
    """A table ready to train on: encoded features, binary label, order, and what was left out."""

    schema: FeatureSchema
    encoded: pd.DataFrame  # safe column names c0..cN, LABEL, ORDER
    raw: pd.DataFrame  # the feature columns as read (gates score other versions on them)
    ignored: dict[str, str] = field(default_factory=dict)  # column -> why it is no feature
    dropped_rows: int = 0  # rows without a target value

    @property
    def safe_names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.schema.fields))]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame, or an error a person can act on."""
    if not path.exists():
        raise UnusableTable(f"{path} does not exist", {"path": str(path)})
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, low_memory=False)
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
    except (ValueError, OSError) as error:
        raise UnusableTable(f"{path} cannot be read: {error}", {"path": str(path)}) from None
    raise UnusableTable(f"{path}: expected a .csv or .parquet file", {"path": str(path)})


def read_sidecar(path: Path | None) -> dict[str, dict[str, Any]]:
    """Per-column notes from JSON: {"column": "a description"} or {"column": {"description",
    "type", "minimum", "maximum"}}; a column it does not name keeps an empty description."""
    if path is None:
        return {}
    if not path.exists():
        raise UnusableTable(f"{path} does not exist", {"path": str(path)})
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise UnusableTable(f"{path} is not JSON: {error}", {"path": str(path)}) from None
    if not isinstance(data, dict):
        raise UnusableTable(f"{path}: expected an object of columns", {"path": str(path)})
    return {str(k): v if isinstance(v, dict) else {"description": str(v)} for k, v in data.items()}


def binary_target(column: "pd.Series[Any]", positive: str | None) -> "pd.Series[int]":
    """The target as 0/1 (rows without a value are dropped before), or why it cannot be."""
    values = column.dropna()
    distinct = sorted({str(v) for v in values.unique()}, key=str)
    name = column.name
    if positive is not None:
        if positive not in distinct:
            raise UnusableTable(
                f"--positive {positive!r} is not a value of {name!r} (it has {distinct[:10]})",
                {"target": name, "values": distinct[:10]},
            )
        if len(distinct) != 2:
            raise _not_binary(name, distinct)
        return (values.astype(str) == positive).astype(np.int64)
    if pd.api.types.is_bool_dtype(values):
        return values.astype(np.int64)
    if pd.api.types.is_numeric_dtype(values):
        if set(values.unique()) <= {0, 1}:
            return values.astype(np.int64)
        raise _not_binary(name, distinct)
    lowered = values.astype(str).str.strip().str.lower()
    words = set(lowered.unique())
    if len(words) == 2 and len(words & _POSITIVE_WORDS) == 1 and len(words & _NEGATIVE_WORDS) == 1:
        return lowered.isin(_POSITIVE_WORDS).astype(np.int64)
    raise _not_binary(name, distinct)


def _not_binary(name: object, distinct: list[str]) -> UnusableTable:
    shown = ", ".join(distinct[:8]) + (" ..." if len(distinct) > 8 else "")
    return UnusableTable(
        f"target {name!r} is not binary: it has {len(distinct)} distinct values ({shown}); "
        "a target is 0/1, true/false, yes/no, or two values with --positive naming the one "
        "to predict",
        {"target": name, "distinct": len(distinct)},
    )


def prepare(
    frame: pd.DataFrame,
    target: str,
    *,
    time_column: str | None = None,
    positive: str | None = None,
    sidecar: Mapping[str, Mapping[str, Any]] | None = None,
) -> PreparedTable:
    """Check the table, infer its schema and encode it; every refusal says what to change."""
    columns = [str(c) for c in frame.columns]
    for role, wanted in (("target", target), ("time", time_column)):
        if wanted is not None and wanted not in columns:
            raise UnusableTable(
                f"there is no {role} column {wanted!r}; the columns are {', '.join(columns)}",
                {role: wanted, "columns": columns},
            )
    if time_column == target:
        raise UnusableTable("the time column cannot be the target", {"target": target})
    known = frame[frame[target].notna()].reset_index(drop=True)
    label = binary_target(known[target], positive)
    order = _order(known, time_column)
    notes = sidecar or {}
    fields, ignored = [], {}
    for name in columns:
        if name in (target, time_column):
            continue
        inferred = infer_field(name, known[name], notes.get(name))
        if inferred is None:
            ignored[name] = _why_ignored(known[name])
        else:
            fields.append(inferred)
    if not fields:
        raise UnusableTable(
            f"no column besides the target can be a feature ({ignored or 'none left'})",
            {"ignored": ignored},
        )
    schema = FeatureSchema(tuple(fields), time_column)
    positives = int(label.sum())
    if len(known) < MIN_ROWS or positives < MIN_POSITIVES or positives == len(known):
        raise UnusableTable(
            f"{len(known)} rows with a target value, {positives} of them positive: training "
            f"needs at least {MIN_ROWS} rows with both classes and {MIN_POSITIVES} positives",
            {"rows": len(known), "positives": positives},
        )
    safe = [f"c{i}" for i in range(len(fields))]
    encoded = pd.DataFrame(encode_frame(schema, known), columns=safe)
    encoded[LABEL] = label.to_numpy()
    encoded[ORDER] = order
    return PreparedTable(
        schema, encoded, known[schema.names], ignored, dropped_rows=len(frame) - len(known)
    )


def _order(frame: pd.DataFrame, time_column: str | None) -> Any:
    if time_column is None:
        return np.arange(len(frame))  # file order is the time order
    column = frame[time_column]
    if pd.api.types.is_numeric_dtype(column):
        parsed = column.astype(np.float64)
        bad = int(parsed.isna().sum())
    else:
        times = pd.to_datetime(column, utc=True, errors="coerce", format="mixed")
        bad = int(times.isna().sum())
        parsed = times
    if bad:
        raise UnusableTable(
            f"{bad} rows have no readable time in {time_column!r} (ISO 8601 dates or numbers)",
            {"time": time_column, "unreadable_rows": bad},
        )
    return parsed.to_numpy()


def _why_ignored(column: "pd.Series[Any]") -> str:
    if column.isna().all():
        return "every value is missing"
    return f"{column.nunique()} distinct text values: an identifier, not a category"


def adapted_config(config: TrainingConfig, rows: int) -> TrainingConfig:
    """The fraud model's configuration, with leaves allowed to be small on a small table."""
    from dataclasses import replace

    return replace(config, min_child_samples=min(config.min_child_samples, max(5, rows // 50)))


def train_table(prepared: PreparedTable, config: TrainingConfig | None = None) -> TrainedModel:
    """Train on the older rows, measure on the newest (the fraud model's split and metrics)."""
    config = adapted_config(config or TrainingConfig(), len(prepared.encoded))
    train, holdout = time_split(prepared.encoded, ORDER, config.holdout_share)
    if holdout[LABEL].nunique() < 2 or train[LABEL].nunique() < 2:
        raise UnusableTable(
            f"the newest {len(holdout)} rows (the holdout) and the {len(train)} older ones "
            "must each hold both classes; give more rows or a time column that mixes them",
            {
                "holdout_positives": int(holdout[LABEL].sum()),
                "train_positives": int(train[LABEL].sum()),
            },
        )
    safe = prepared.safe_names
    categorical = [s for s, f in zip(safe, prepared.schema.fields, strict=True) if f.categories]
    model = train_model(
        train,
        safe,
        label=LABEL,
        time_column=ORDER,
        config=config,
        holdout=holdout,
        categorical=categorical,
    )
    names = dict(zip(safe, prepared.schema.names, strict=True))
    model.features = prepared.schema.names
    model.references = {names.get(k, k): v for k, v in model.references.items()}
    model.typical = {
        k: float(v) for k, v in prepared.schema.typical().items() if not isinstance(v, str)
    }
    model.schema = prepared.schema
    rows, labels = holdout_rows(prepared, config.holdout_share)
    model.holdout = rows.assign(**{LABEL: labels.to_numpy()})
    model.params["target_rows_dropped"] = prepared.dropped_rows
    model.params["ignored_columns"] = json.dumps(sorted(prepared.ignored))
    return model


def holdout_rows(prepared: PreparedTable, share: float) -> tuple[pd.DataFrame, "pd.Series[int]"]:
    """The raw feature rows and labels of the holdout (to score another version on them)."""
    ordered = prepared.encoded.sort_values(ORDER, kind="stable")
    cut = int(len(ordered) * (1 - share))
    index = ordered.index[cut:]
    return prepared.raw.loc[index], prepared.encoded.loc[index, LABEL]
