"""The `VectorIndex` port: the k records nearest a vector, by cosine distance, filtered.

Vectors live in the `record_embeddings` table whatever the engine (the table is the truth);
an adapter answers searches over it: pgvector's HNSW index inside PostgreSQL, or an
in-process index kept in step with the table (embedded default).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.similarity.vectors import Vector

LabelFilter = Literal["fraud", "legit"]


@dataclass(frozen=True, slots=True)
class NeighbourFilter:
    created_from: datetime | None = None
    created_to: datetime | None = None
    outcome: str | None = None
    model: str | None = None
    label: LabelFilter | None = None  # the known truth (labels table), not the decision


@dataclass(frozen=True, slots=True)
class EmbeddingId:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class Neighbour:
    record_id: str
    distance: float  # cosine distance, 0 = same direction, 2 = opposite


class VectorIndex(Protocol):
    name: str

    async def search(
        self,
        connection: AsyncConnection,
        embedding: EmbeddingId,
        vector: Vector,
        k: int,
        where: NeighbourFilter,
        exclude: str | None = None,
    ) -> list[Neighbour]:
        """The k nearest records, nearest first (`exclude`: the query record itself)."""
        ...

    async def forget(self, connection: AsyncConnection, record_ids: Sequence[str]) -> None:
        """Delete the records' vectors (every embedding) from the table and the index."""
        ...

    def clear(self) -> None:
        """Forget what the adapter keeps beside the table (the table was emptied)."""
        ...

    def close(self) -> None:
        """Persist what can be persisted (the embedded index saves its file)."""
        ...
