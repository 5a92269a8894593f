"""The vector column: pgvector's `vector(N)` on PostgreSQL, float32 bytes on SQLite.

On PostgreSQL a vector travels as a `real[]` in asyncpg's binary format and is cast to
`vector` by the server (and back to `real[]` when read): no driver codec to register on every
connection, and no decimal text to format and parse. Measured in benchmarks/similarity.py
(`transport`): the text form `[0.1,...]` costs ~0.2 ms of Python per 384-dim vector each way.
"""

from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

Vector = npt.NDArray[np.float32]

# A bound vector parameter in raw SQL (the adapter's search): pass `as_param(vector)`.
PG_VECTOR_PARAM = "CAST(CAST({} AS REAL[]) AS vector)"


class PgVector(UserDefinedType[Any]):
    """pgvector's type (DDL and reflection; values go through `VectorColumn`)."""

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


def as_param(vector: Vector) -> list[float]:
    """A vector as the `real[]` parameter of `PG_VECTOR_PARAM` (binary on the wire)."""
    values: list[float] = np.asarray(vector, dtype=np.float32).tolist()
    return values


class _VectorBind(ColumnElement[Any]):
    """A vector parameter: `CAST(CAST(:p AS REAL[]) AS vector)` on PostgreSQL, as is elsewhere."""

    inherit_cache = True

    def __init__(self, bind: ColumnElement[Any]) -> None:
        self.bind = bind
        self.type = bind.type


class _VectorRead(ColumnElement[Any]):
    """A vector column read as `real[]` on PostgreSQL (binary), as is elsewhere."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_VectorBind)
def _bind_default(element: _VectorBind, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.bind, **kw)


@compiles(_VectorBind, "postgresql")
def _bind_postgres(element: _VectorBind, compiler: SQLCompiler, **kw: Any) -> str:
    return PG_VECTOR_PARAM.format(compiler.process(element.bind, **kw))


@compiles(_VectorRead)
def _read_default(element: _VectorRead, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_VectorRead, "postgresql")
def _read_postgres(element: _VectorRead, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.column, **kw)} AS REAL[])"


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

    def bind_expression(self, bindvalue: Any) -> Any:
        return _VectorBind(bindvalue)

    def column_expression(self, colexpr: Any) -> Any:
        return _VectorRead(colexpr)

    def process_bind_param(self, value: Vector | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if len(value) != self.dim:
            raise ValueError(f"a vector of {len(value)} values for a {self.dim}-dim column")
        if dialect.name == "postgresql":
            return as_param(value)
        return np.asarray(value, dtype=np.float32).tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> Vector | None:
        if value is None:
            return None
        if isinstance(value, str):  # the text form, from a query that did not cast
            return from_pg_text(value)
        if isinstance(value, list):
            return np.array(value, dtype=np.float32)
        return np.frombuffer(value, dtype=np.float32)
