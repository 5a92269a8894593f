"""Training on any table: the inferred schema, the time split, clear refusals, and the schema
kept with the registered version (the booster reads categories as the codes it learnt)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskops.ml.drift import SCORE
from riskops.ml.feature_schema import FeatureSchema, FieldType, InvalidFeatures, encode_frame
from riskops.ml.registry import ModelRegistry
from riskops.ml.tabular import (
    UnusableTable,
    binary_target,
    prepare,
    read_sidecar,
    read_table,
    train_table,
)
from riskops.ml.training import TrainingConfig
from tests.ml.tables import COUNTRIES, make_table, write_table

FAST = TrainingConfig(max_rounds=60, n_jobs=1)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


def test_the_schema_is_inferred_from_the_columns(table: pd.DataFrame) -> None:
    notes = {"amount": {"description": "Claimed amount in EUR"}}
    prepared = prepare(table, "is_fraud", time_column="seen_at", sidecar=notes)
    fields = {f.name: f for f in prepared.schema.fields}
    assert list(fields) == ["amount", "country", "channel", "age"]
    assert prepared.ignored == {
        "customer_id": "1500 distinct text values: an identifier, not a category"
    }
    amount, country, channel, age = fields.values()
    assert (amount.type, amount.nullable, amount.description) == (
        FieldType.NUMBER,
        False,
        "Claimed amount in EUR",
    )
    assert amount.minimum == table["amount"].min() and amount.maximum == table["amount"].max()
    assert amount.typical == pytest.approx(table["amount"].median())
    assert (country.type, country.categories, country.nullable) == (
        FieldType.CATEGORY,
        tuple(COUNTRIES),
        False,
    )
    assert country.typical == table["country"].mode()[0]  # the most frequent category
    assert (channel.type, channel.nullable) == (FieldType.CATEGORY, True)
    assert (age.type, age.nullable, age.description) == (FieldType.INTEGER, True, "")
    assert prepared.schema.time_column == "seen_at"


def test_a_model_trains_on_the_older_rows_and_is_measured_on_the_newest(
    table: pd.DataFrame,
) -> None:
    prepared = prepare(table, "is_fraud", time_column="seen_at")
    model = train_table(prepared, FAST)
    assert model.rows["train"] == 1_200 and model.rows["holdout"] == 300
    assert model.metrics["auc"] > 0.75  # KP and the amount carry the signal
    assert set(model.metrics) >= {"auc", "ap", "recall_at_fpr_0.01"}
    assert model.features == ["amount", "country", "channel", "age"]
    assert set(model.references) == {*model.features, SCORE}
    # The holdout is the newest rows by the time column, not the last rows of the file.
    newest = table.assign(t=pd.to_datetime(table["seen_at"])).nlargest(300, "t")
    assert model.rows["holdout_frauds"] == int(newest["is_fraud"].sum())


def test_the_schema_travels_with_the_registered_version(
    table: pd.DataFrame, registry: ModelRegistry
) -> None:
    prepared = prepare(table, "is_fraud", time_column="seen_at")
    model = train_table(prepared, FAST)
    version = registry.register("claims", model)
    loaded = registry.load("claims", version.version)
    assert loaded.schema == prepared.schema
    assert loaded.features == model.features
    # The loaded booster scores the encoded rows exactly as the trained one.
    rows = encode_frame(prepared.schema, table.head(50))
    assert np.allclose(loaded.booster.predict(rows), model.booster.predict(rows))
    assert FeatureSchema.from_json(prepared.schema.to_json()) == prepared.schema


def test_payloads_are_checked_field_by_field(table: pd.DataFrame) -> None:
    schema = prepare(table, "is_fraud").schema
    good = {"amount": 120.5, "country": "KP", "channel": None, "age": 40}
    encoded = schema.validate(good, "claims v1")
    assert encoded["country"] == COUNTRIES.index("KP") and np.isnan(encoded["channel"])
    with pytest.raises(InvalidFeatures) as refused:
        schema.validate(
            {"amount": "a lot", "country": "XX", "age": 40.5, "shoe_size": 44}, "claims v1"
        )
    fields = {e["field"]: e for e in refused.value.details["fields"]}
    assert fields["amount"] == {"field": "amount", "problem": "wrong_type", "expected": "a number"}
    assert fields["country"]["problem"] == "unknown_category"
    assert fields["country"]["categories"] == COUNTRIES
    assert fields["channel"]["problem"] == "missing"
    assert fields["age"] == {
        "field": "age",
        "problem": "wrong_type",
        "expected": "an integer or null",
    }
    assert fields["shoe_size"]["problem"] == "unknown"
    assert refused.value.details["missing"] == ["channel"]
    assert refused.value.details["unknown"] == ["shoe_size"]
    assert "amount: expected a number" in refused.value.message


def test_declared_bounds_are_enforced(table: pd.DataFrame) -> None:
    notes = {"amount": {"minimum": 0, "maximum": 5_000, "description": "EUR"}}
    schema = prepare(table, "is_fraud", sidecar=notes).schema
    payload = {"amount": 9_000, "country": "DE", "channel": "pos", "age": 30}
    with pytest.raises(InvalidFeatures) as refused:
        schema.validate(payload, "claims v1")
    (error,) = refused.value.details["fields"]
    assert error == {
        "field": "amount",
        "problem": "out_of_range",
        "expected": "a number from 0 up to 5000",
        "range": [0.0, 5000.0],
    }


def test_unusable_tables_are_refused_with_the_reason(tmp_path: Path, table: pd.DataFrame) -> None:
    with pytest.raises(UnusableTable, match="does not exist"):
        read_table(tmp_path / "nothing.csv")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnusableTable, match=r"expected a \.csv or \.parquet"):
        read_table(tmp_path / "notes.txt")
    with pytest.raises(UnusableTable, match="there is no target column 'fraud'; the columns"):
        prepare(table, "fraud")
    with pytest.raises(UnusableTable, match="there is no time column 'when'"):
        prepare(table, "is_fraud", time_column="when")
    with pytest.raises(UnusableTable, match="target 'amount' is not binary"):
        prepare(table, "amount")
    with pytest.raises(UnusableTable, match=r"150 rows with a target value.*at least 200"):
        prepare(table.head(150), "is_fraud")
    with pytest.raises(UnusableTable, match="rows have no readable time"):
        prepare(table.assign(seen_at="yesterday"), "is_fraud", time_column="seen_at")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(UnusableTable, match="is not JSON"):
        read_sidecar(tmp_path / "bad.json")
    assert read_table(write_table(tmp_path, rows=300)).shape == (300, 7)


def test_text_targets_need_to_say_which_value_is_positive() -> None:
    words = pd.Series(["yes", "no", "no", None, "YES"], name="flag").dropna()
    assert binary_target(words, None).tolist() == [1, 0, 0, 1]
    colours = pd.Series(["red", "blue", "red"], name="colour")
    with pytest.raises(UnusableTable, match="--positive naming the one"):
        binary_target(colours, None)
    assert binary_target(colours, "red").tolist() == [1, 0, 1]
    with pytest.raises(UnusableTable, match="--positive 'green' is not a value"):
        binary_target(colours, "green")
