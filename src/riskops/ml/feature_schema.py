"""A model's typed feature schema: what each input is, what values it takes, how it is encoded.

Stored with every registered version (`schema.json` beside the booster), it drives three
things: request validation on `POST /v1/predict` (every problem named, field by field), the
console's predict form (one input per field, typical values prefilled) and the encoding of
categories into the integer codes LightGBM was trained on. A version registered before
schemas existed gets a numeric one from its feature list, so the fraud model behaves as before.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from riskops.core.errors import Unprocessable

if TYPE_CHECKING:  # pandas only where a table is read: the registry imports this module
    import pandas as pd

# A text column with more distinct values than this is an identifier, not a category.
MAX_CATEGORIES: Final = 200


class FieldType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CATEGORY = "category"


@dataclass(frozen=True)
class FeatureField:
    name: str
    type: FieldType
    description: str = ""
    nullable: bool = False  # training saw missing values: null is accepted (LightGBM's branch)
    minimum: float | None = None  # range seen in training (shown; enforced only if `bounded`)
    maximum: float | None = None
    bounded: bool = False  # values outside [minimum, maximum] are refused (a sidecar says so)
    categories: tuple[str, ...] = ()  # CATEGORY: the code of a value is its index here
    typical: float | str | None = None  # median, or most frequent category

    def expected(self) -> str:
        """The expected value in words, as a 422 states it."""
        if self.type is FieldType.CATEGORY:
            return (
                "one of "
                + ", ".join(repr(c) for c in self.categories[:20])
                + (f" (and {len(self.categories) - 20} more)" if len(self.categories) > 20 else "")
            )
        kind = {
            FieldType.NUMBER: "a number",
            FieldType.INTEGER: "an integer",
            FieldType.BOOLEAN: "true or false",
        }[self.type]
        if self.bounded and self.type is not FieldType.BOOLEAN:
            low = "" if self.minimum is None else f" from {self.minimum:g}"
            high = "" if self.maximum is None else f" up to {self.maximum:g}"
            kind += low + high
        return kind + (" or null" if self.nullable else "")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type.value
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FeatureField":
        return cls(
            name=str(data["name"]),
            type=FieldType(data["type"]),
            description=str(data.get("description") or ""),
            nullable=bool(data.get("nullable", False)),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            bounded=bool(data.get("bounded", False)),
            categories=tuple(str(c) for c in data.get("categories") or ()),
            typical=data.get("typical"),
        )


@dataclass(frozen=True)
class FieldError:
    field: str
    problem: str  # missing | unknown | wrong_type | unknown_category | out_of_range | null
    expected: str | None = None
    categories: list[str] | None = None
    range: list[float | None] | None = None  # None on a side: open

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def sentence(self) -> str:
        if self.problem == "missing":
            return f"{self.field} is missing: expected {self.expected}"
        if self.problem == "unknown":
            return f"{self.field} is not a feature of this model"
        return f"{self.field}: expected {self.expected}"


class InvalidFeatures(Unprocessable):
    code = "invalid_features"


@dataclass(frozen=True)
class FeatureSchema:
    fields: tuple[FeatureField, ...]
    time_column: str | None = None  # what the training rows were ordered by (backfill reads it)
    _by_name: dict[str, FeatureField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.fields if f.type is FieldType.CATEGORY]

    def get(self, name: str) -> FeatureField | None:
        return self._by_name.get(name)

    def typical(self) -> dict[str, float | str]:
        return {f.name: f.typical for f in self.fields if f.typical is not None}

    def to_json(self) -> dict[str, Any]:
        return {"time_column": self.time_column, "fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FeatureSchema":
        return cls(
            tuple(FeatureField.from_json(f) for f in data["fields"]), data.get("time_column")
        )

    def errors(self, features: Mapping[str, Any]) -> list[FieldError]:
        """Every problem of a payload, in schema order, then the unknown names."""
        found = [
            e for f in self.fields if (e := _check(f, features.get(f.name), f.name in features))
        ]
        found += [FieldError(n, "unknown") for n in sorted(set(features) - set(self._by_name))]
        return found

    def validate(self, features: Mapping[str, Any], what: str) -> dict[str, float]:
        """The payload as the numbers the booster reads (categories as codes), or a 422
        naming each field with what it expects (`what` names the model in the message)."""
        problems = self.errors(features)
        if problems:
            raise InvalidFeatures(
                f"the features do not match model {what}: "
                + "; ".join(p.sentence() for p in problems[:5])
                + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
                {
                    "missing": [p.field for p in problems if p.problem == "missing"],
                    "unknown": [p.field for p in problems if p.problem == "unknown"],
                    "not_numeric": [
                        p.field
                        for p in problems
                        if p.problem == "wrong_type"
                        and self._by_name[p.field].type is not FieldType.CATEGORY
                    ],
                    "fields": [p.to_json() for p in problems],
                },
            )
        return {f.name: encode_value(f, features[f.name]) for f in self.fields}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check(f: FeatureField, value: Any, present: bool) -> FieldError | None:
    wrong = FieldError(
        f.name,
        "wrong_type",
        f.expected(),
        list(f.categories) if f.type is FieldType.CATEGORY else None,
        [f.minimum, f.maximum] if f.bounded else None,
    )
    if not present:
        return FieldError(f.name, "missing", f.expected())
    if value is None:
        return None if f.nullable else wrong
    if f.type is FieldType.CATEGORY:
        if not isinstance(value, str | int) or isinstance(value, bool):
            return wrong
        if str(value) not in f.categories:
            return FieldError(f.name, "unknown_category", f.expected(), list(f.categories))
        return None
    if f.type is FieldType.BOOLEAN:
        return None if isinstance(value, bool) or value in (0, 1) else wrong
    if not _is_number(value):
        return wrong
    if f.type is FieldType.INTEGER and float(value) != int(value):
        return wrong
    if f.bounded and not _within(float(value), f.minimum, f.maximum):
        return FieldError(f.name, "out_of_range", f.expected(), None, [f.minimum, f.maximum])
    return None


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def encode_value(f: FeatureField, value: Any) -> float:
    if value is None:
        return math.nan
    if f.type is FieldType.CATEGORY:
        return float(f.categories.index(str(value)))
    return float(value)


def numeric_schema(
    names: Iterable[str], descriptions: Mapping[str, str], typical: Mapping[str, float]
) -> FeatureSchema:
    """The schema of a version registered without one: every feature a required number."""
    return FeatureSchema(
        tuple(
            FeatureField(n, FieldType.NUMBER, descriptions.get(n, n), typical=typical.get(n))
            for n in names
        )
    )


def infer_field(
    name: str, column: "pd.Series[Any]", sidecar: Mapping[str, Any] | None = None
) -> FeatureField | None:
    """A field from the training column (None: not usable as a feature, e.g. an identifier).

    A sidecar entry may give `description`, force `type` (a numeric code that is really a
    category, say) and declare hard `minimum`/`maximum` bounds that requests must respect.
    """
    import pandas as pd

    side = dict(sidecar or {})
    wanted = side.get("type")
    nullable = bool(column.isna().any())
    present = column.dropna()
    if present.empty:
        return None
    description = str(side.get("description") or "")
    if wanted == FieldType.CATEGORY or (
        wanted is None
        and not pd.api.types.is_numeric_dtype(present)
        and not pd.api.types.is_bool_dtype(present)
    ):
        text = present.astype(str)
        counts = text.value_counts()
        if wanted is None and len(counts) > MAX_CATEGORIES:
            return None
        return FeatureField(
            name,
            FieldType.CATEGORY,
            description,
            nullable,
            categories=tuple(sorted(counts.index)),
            typical=str(counts.index[0]),
        )
    if pd.api.types.is_bool_dtype(present) or wanted == FieldType.BOOLEAN:
        values = present.astype(bool)
        return FeatureField(
            name, FieldType.BOOLEAN, description, nullable, 0.0, 1.0,
            typical=float(values.mode().iloc[0]),
        )  # fmt: skip
    numbers = present.astype(np.float64)
    integral = bool((numbers == np.round(numbers)).all())
    kind = FieldType(wanted) if wanted else (FieldType.INTEGER if integral else FieldType.NUMBER)
    # Declared bounds are enforced (an undeclared side stays open); else the range seen.
    bounded = "minimum" in side or "maximum" in side
    low, high = (
        (side.get("minimum"), side.get("maximum")) if bounded else (numbers.min(), numbers.max())
    )
    median = float(numbers.median())
    return FeatureField(
        name,
        kind,
        description,
        nullable,
        None if low is None else float(low),
        None if high is None else float(high),
        bounded=bounded,
        typical=float(round(median)) if kind is FieldType.INTEGER else round(median, 6),
    )


def encode_frame(schema: FeatureSchema, frame: "pd.DataFrame") -> npt.NDArray[np.float64]:
    """The columns of `schema` as the float matrix the booster reads (unknown category: NaN)."""
    import pandas as pd

    columns = []
    for f in schema.fields:
        column = frame[f.name]
        if f.type is FieldType.CATEGORY:
            codes = pd.Index(list(f.categories)).get_indexer(column.astype(str))
            values = codes.astype(np.float64)
            values[codes < 0] = np.nan
        elif f.type is FieldType.BOOLEAN:
            values = column.map(_boolean).to_numpy(np.float64)
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
        columns.append(values)
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


_TRUE: Final = {"true": 1.0, "1": 1.0, "1.0": 1.0, "yes": 1.0}
_FALSE: Final = {"false": 0.0, "0": 0.0, "0.0": 0.0, "no": 0.0}


def _boolean(value: Any) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, bool | int | float):
        return float(bool(value))
    text = str(value).strip().lower()
    return _TRUE.get(text, _FALSE.get(text, math.nan))
