"""Embedded adapter: exact cosine search with NumPy over an in-memory matrix.

Exact beats an approximate graph at this product's embedded sizes (measured in
benchmarks/similarity.py: one matrix-vector product over 100k x 384 float32 is a few ms, and
recall is 1.0 by construction). The matrix mirrors the `record_embeddings` table: each search
first reads the rows written since the last one (`seq` is increasing), so vectors written by
another process (the worker) are found. It is saved in the data folder on close and rebuilt
from the table when the file is missing or unreadable.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.similarity import repository
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter
from riskops.similarity.vectors import Vector

log = logging.getLogger(__name__)
CATCH_UP_BATCH = 20_000
_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")


@dataclass
class _Matrix:
    dim: int
    seq: int = 0  # the last table row mirrored
    size: int = 0
    vectors: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    ids: list[str] = field(default_factory=list)
    models: list[str | None] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    times: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    alive: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    position: dict[str, int] = field(default_factory=dict)

    def append(self, rows: Sequence[tuple[int, str, str | None, str, datetime, Vector]]) -> None:
        need = self.size + len(rows)
        if need > len(self.vectors):
            grown = max(need, 2 * len(self.vectors), 1024)
            vectors = np.zeros((grown, self.dim), np.float32)
            if self.size:
                vectors[: self.size] = self.vectors[: self.size]
            times = np.zeros(grown, np.int64)
            times[: self.size] = self.times[: self.size]
            alive = np.zeros(grown, np.bool_)
            alive[: self.size] = self.alive[: self.size]
            self.vectors, self.times, self.alive = vectors, times, alive
        for seq, record_id, model, outcome, at, vector in rows:
            i = self.size
            self.vectors[i] = vector
            self.times[i] = _micros(at)
            self.alive[i] = True
            self.ids.append(record_id)
            self.models.append(model)
            self.outcomes.append(outcome)
            self.position[record_id] = i
            self.size += 1
            self.seq = max(self.seq, seq)


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


class ExactIndex:
    name = "embedded"

    def __init__(self, folder: Path | None, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self._matrices: dict[EmbeddingId, _Matrix] = {}

    def _matrix(self, embedding: EmbeddingId) -> _Matrix:
        found = self._matrices.get(embedding)
        if found is None:
            found = self._matrices[embedding] = self._load(embedding) or _Matrix(self.dim)
        return found

    async def _catch_up(self, connection: AsyncConnection, embedding: EmbeddingId) -> _Matrix:
        matrix = self._matrix(embedding)
        while True:
            rows = await repository.rows_after(connection, embedding, matrix.seq, CATCH_UP_BATCH)
            if not rows:
                return matrix
            matrix.append([tuple(r) for r in rows])
            if len(rows) < CATCH_UP_BATCH:
                return matrix

    async def search(
        self,
        connection: AsyncConnection,
        embedding: EmbeddingId,
        vector: Vector,
        k: int,
        where: NeighbourFilter,
        exclude: str | None = None,
    ) -> list[Neighbour]:
        m = await self._catch_up(connection, embedding)
        n = m.size
        if n == 0:
            return []
        keep = m.alive[:n].copy()
        if where.created_from is not None:
            keep &= m.times[:n] >= _micros(where.created_from)
        if where.created_to is not None:
            keep &= m.times[:n] < _micros(where.created_to)
        if where.outcome is not None:
            keep &= np.fromiter((o == where.outcome for o in m.outcomes), np.bool_, n)
        if where.model is not None:
            keep &= np.fromiter((x == where.model for x in m.models), np.bool_, n)
        if where.label is not None:
            allowed = np.zeros(n, np.bool_)
            for record_id in await repository.labelled(connection, where.label):
                i = m.position.get(record_id)
                if i is not None:
                    allowed[i] = True
            keep &= allowed
        if exclude is not None and exclude in m.position:
            keep[m.position[exclude]] = False
        count = int(keep.sum())
        if count == 0:
            return []
        # One product over the whole matrix (a view), then filtered: gathering the kept rows
        # first would copy the matrix on every search.
        similarity = m.vectors[:n] @ np.asarray(vector, np.float32)
        similarity[~keep] = -np.inf
        take = min(k, count)
        top = np.argpartition(-similarity, take - 1)[:take]
        top = top[np.argsort(-similarity[top], kind="stable")]
        return [Neighbour(m.ids[i], max(0.0, 1.0 - float(similarity[i]))) for i in top]

    async def forget(self, connection: AsyncConnection, record_ids: Sequence[str]) -> None:
        await repository.delete_embeddings(connection, record_ids)
        for matrix in self._matrices.values():
            for record_id in record_ids:
                i = matrix.position.pop(record_id, None)
                if i is not None:
                    matrix.alive[i] = False

    def clear(self) -> None:
        # The table's sequence may restart once emptied (SQLite): a mirror that remembered
        # the old last row would never catch up again.
        for embedding in list(self._matrices):
            path = self._path(embedding)
            if path is not None:
                path.unlink(missing_ok=True)
        self._matrices.clear()
        if self.folder is not None and self.folder.exists():
            for path in self.folder.glob("*.npz"):
                path.unlink(missing_ok=True)

    # Persistence: one .npz per embedding version in the data folder.
    def _path(self, embedding: EmbeddingId) -> Path | None:
        if self.folder is None:
            return None
        safe = f"{embedding.name}-{embedding.version}".replace("/", "_").replace(":", "_")
        return self.folder / f"{safe}.npz"

    def close(self) -> None:
        for embedding, m in self._matrices.items():
            path = self._path(embedding)
            if path is None or m.size == 0:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".tmp.npz")
            np.savez(
                partial,
                seq=np.int64(m.seq),
                vectors=m.vectors[: m.size],
                ids=np.array(m.ids, dtype=object),
                models=np.array(m.models, dtype=object),
                outcomes=np.array(m.outcomes, dtype=object),
                times=m.times[: m.size],
                alive=m.alive[: m.size],
            )
            partial.replace(path)  # a crash mid-write leaves the previous file

    def _load(self, embedding: EmbeddingId) -> _Matrix | None:
        path = self._path(embedding)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=True) as saved:
                vectors = saved["vectors"]
                if vectors.shape[1] != self.dim:
                    raise ValueError(f"{vectors.shape[1]}-dim file for a {self.dim}-dim index")
                ids = [str(i) for i in saved["ids"]]
                alive = saved["alive"].astype(np.bool_)
                return _Matrix(
                    dim=self.dim,
                    seq=int(saved["seq"]),
                    size=len(ids),
                    vectors=vectors.astype(np.float32),
                    ids=ids,
                    models=list(saved["models"]),
                    outcomes=[str(o) for o in saved["outcomes"]],
                    times=saved["times"].astype(np.int64),
                    alive=alive,
                    position={r: i for i, r in enumerate(ids) if alive[i]},
                )
        except Exception as error:  # a damaged file is rebuilt from the table, never fatal
            log.warning("embedded vector index %s unreadable (%s): rebuilding", path, error)
            return None
