"""The vector column: pgvector's `vector(N)` on PostgreSQL, float32 bytes on SQLite."""

from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

Vector = npt.NDArray[np.float32]


class PgVector(UserDefinedType[Any]):
    """pgvector's type; values travel as its text form `[1,2,3]` (no driver codec needed)."""

    cache_ok = True

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def get_col_spec(self, **_: Any) -> str:
        return "vector" if self.dim is None else f"vector({self.dim})"


# Reflection (Alembic's model/migration comparison) then knows the column's type.
ischema_names["vector"] = PgVector


def to_pg_text(vector: Vector) -> str:
    return "[" + ",".join(f"{float(v):.7g}" for v in vector) + "]"


def from_pg_text(value: str) -> Vector:
    return np.array(value.strip("[]").split(","), dtype=np.float32)


class VectorColumn(TypeDecorator[Vector]):
    impl = LargeBinary
    cache_ok = True

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PgVector(self.dim))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Vector | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if len(value) != self.dim:
            raise ValueError(f"a vector of {len(value)} values for a {self.dim}-dim column")
        if dialect.name == "postgresql":
            return to_pg_text(value)
        return np.asarray(value, dtype=np.float32).tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> Vector | None:
        if value is None:
            return None
        if isinstance(value, str):
            return from_pg_text(value)
        return np.frombuffer(value, dtype=np.float32)
