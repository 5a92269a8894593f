"""Embedded adapter: exact cosine search with NumPy over an in-memory matrix.

Exact beats an approximate graph at small sizes (measured in benchmarks/similarity.py: below
`graph.GRAPH_FROM` vectors one matrix-vector product is as fast as a graph search, recall is
1.0 by construction and nothing has to be built). The matrix mirrors the `record_embeddings`
table: each search first reads the rows written since the last one (`seq` is increasing), so
vectors written by another process (the worker) are found. It is saved in the data folder on
close and rebuilt from the table when the file is missing, unreadable or of an older format.
`graph.HnswIndex` extends it with an HNSW graph for large sizes.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.similarity import repository
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter
from riskops.similarity.vectors import Vector

log = logging.getLogger(__name__)
_T = TypeVar("_T", bound=np.generic)
CATCH_UP_BATCH = 20_000
FILE_FORMAT = 2  # 2: outcome and model as codes (filters are array comparisons at 1M rows)
# Below this share of kept rows, the kept rows' vectors are gathered and multiplied; above it
# one product over the whole matrix (a view, no copy) is cheaper than the gather.
GATHER_BELOW = 0.25


@dataclass
class _Codes:
    """A string column as small integer codes: `outcome == x` is one array comparison."""

    values: list[str | None] = field(default_factory=list)
    codes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    _index: dict[str | None, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {v: i for i, v in enumerate(self.values)}

    def code(self, value: str | None) -> int:
        found = self._index.get(value)
        if found is None:
            found = self._index[value] = len(self.values)
            self.values.append(value)
        return found

    def equals(self, value: str | None, n: int) -> npt.NDArray[np.bool_]:
        found = self._index.get(value)
        if found is None:
            return np.zeros(n, np.bool_)
        same: npt.NDArray[np.bool_] = self.codes[:n] == found
        return same


@dataclass
class _Matrix:
    dim: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # names files built on it
    seq: int = 0  # the last table row mirrored
    size: int = 0
    vectors: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    ids: list[str] = field(default_factory=list)
    models: _Codes = field(default_factory=_Codes)
    outcomes: _Codes = field(default_factory=_Codes)
    times: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    alive: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    position: dict[str, int] = field(default_factory=dict)

    def append(self, rows: Sequence[tuple[int, str, str | None, str, datetime, Vector]]) -> None:
        need = self.size + len(rows)
        if need > len(self.vectors):
            grown = max(need, 2 * len(self.vectors), 1024)
            self.vectors = _grown(self.vectors, self.size, (grown, self.dim))
            self.times = _grown(self.times, self.size, (grown,))
            self.alive = _grown(self.alive, self.size, (grown,))
            self.models.codes = _grown(self.models.codes, self.size, (grown,))
            self.outcomes.codes = _grown(self.outcomes.codes, self.size, (grown,))
        for seq, record_id, model, outcome, at, vector in rows:
            i = self.size
            self.vectors[i] = vector
            self.times[i] = _micros(at)
            self.alive[i] = True
            self.models.codes[i] = self.models.code(model)
            self.outcomes.codes[i] = self.outcomes.code(outcome)
            self.ids.append(record_id)
            self.position[record_id] = i
            self.size += 1
            self.seq = max(self.seq, seq)

    def keep(
        self, where: NeighbourFilter, labelled: set[str] | None, exclude: str | None
    ) -> npt.NDArray[np.bool_]:
        """The rows a search may return: alive and passing the filter."""
        n = self.size
        keep = self.alive[:n].copy()
        if where.created_from is not None:
            keep &= self.times[:n] >= _micros(where.created_from)
        if where.created_to is not None:
            keep &= self.times[:n] < _micros(where.created_to)
        if where.outcome is not None:
            keep &= self.outcomes.equals(where.outcome, n)
        if where.model is not None:
            keep &= self.models.equals(where.model, n)
        if labelled is not None:
            allowed = np.zeros(n, np.bool_)
            rows = [i for i in map(self.position.get, labelled) if i is not None]
            allowed[np.asarray(rows, np.int64)] = True
            keep &= allowed
        if exclude is not None and exclude in self.position:
            keep[self.position[exclude]] = False
        return keep

    def nearest(self, rows: npt.NDArray[np.int64], vector: Vector, k: int) -> list[Neighbour]:
        """Exact top k among `rows` (positions that passed the filter), nearest first."""
        if len(rows) == 0:
            return []
        similarity = _dot(self.vectors[rows], vector)
        take = min(k, len(rows))
        top = np.argpartition(-similarity, take - 1)[:take]
        top = top[np.lexsort((rows[top], -similarity[top]))]  # ties: the older row first
        return [Neighbour(self.ids[rows[i]], max(0.0, 1.0 - float(similarity[i]))) for i in top]

    def exact(self, keep: npt.NDArray[np.bool_], vector: Vector, k: int) -> list[Neighbour]:
        n = self.size
        count = int(keep.sum())
        if count == 0:
            return []
        if count < GATHER_BELOW * n:
            return self.nearest(np.flatnonzero(keep), vector, k)
        # One product over the whole matrix (a view), then filtered: gathering most rows
        # would copy the matrix on every search.
        similarity = _dot(self.vectors[:n], vector)
        similarity[~keep] = -np.inf
        take = min(k, count)
        top = np.argpartition(-similarity, take - 1)[:take]
        top = top[np.lexsort((top, -similarity[top]))]
        return [Neighbour(self.ids[i], max(0.0, 1.0 - float(similarity[i]))) for i in top]


def _grown(array: npt.NDArray[_T], used: int, shape: tuple[int, ...]) -> npt.NDArray[_T]:
    grown: npt.NDArray[_T] = np.zeros(shape, array.dtype)
    if used:
        grown[:used] = array[:used]
    return grown


def _dot(matrix: npt.NDArray[np.float32], vector: Vector) -> npt.NDArray[np.float32]:
    """One matrix-vector product without BLAS: OpenBLAS splits a product this size over its
    threads, which on a busy 2-core machine wait for each other (measured at 10,000 x 384:
    15.7 ms median with 2 BLAS threads, 0.4 ms here; benchmarks/similarity.py notes)."""
    product: npt.NDArray[np.float32] = np.einsum("ij,j->i", matrix, np.asarray(vector, np.float32))
    return product


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


class ExactIndex:
    name = "embedded"

    def __init__(self, folder: Path | None, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self._matrices: dict[EmbeddingId, _Matrix] = {}
        self._from_file: set[EmbeddingId] = set()  # loaded, deletions not yet reconciled

    def _matrix(self, embedding: EmbeddingId) -> _Matrix:
        found = self._matrices.get(embedding)
        if found is None:
            loaded = self._load(embedding)
            if loaded is not None:
                self._from_file.add(embedding)
            found = self._matrices[embedding] = loaded or _Matrix(self.dim)
        return found

    async def _catch_up(self, connection: AsyncConnection, embedding: EmbeddingId) -> _Matrix:
        matrix = self._matrix(embedding)
        while True:
            rows = await repository.rows_after(connection, embedding, matrix.seq, CATCH_UP_BATCH)
            if rows:
                matrix.append([tuple(r) for r in rows])
            if len(rows) < CATCH_UP_BATCH:
                break
        if embedding in self._from_file:
            self._from_file.discard(embedding)
            await self._reconcile(connection, embedding, matrix)
        return matrix

    async def _reconcile(
        self, connection: AsyncConnection, embedding: EmbeddingId, m: _Matrix
    ) -> None:
        """Rows deleted from the table while the file was on disk (another process, a
        restart in between) are marked dead: one count, and the ids only when it differs."""
        alive = int(m.alive[: m.size].sum())
        if await repository.count_embedded(connection, embedding) == alive:
            return
        present = await repository.embedded_ids(connection, embedding)
        gone = [r for r in m.position if r not in present]
        for record_id in gone:
            m.alive[m.position.pop(record_id)] = False
        log.info("embedded vector index %s: %d rows deleted while saved", embedding, len(gone))

    async def _keep(
        self,
        connection: AsyncConnection,
        m: _Matrix,
        where: NeighbourFilter,
        exclude: str | None,
    ) -> npt.NDArray[np.bool_]:
        labelled = None
        if where.label is not None:
            labelled = await repository.labelled(connection, where.label)
        return m.keep(where, labelled, exclude)

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
        if m.size == 0:
            return []
        return m.exact(await self._keep(connection, m, where, exclude), vector, k)

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
        self._matrices.clear()
        self._from_file.clear()
        if self.folder is not None and self.folder.exists():
            for path in self.folder.glob("*.npz"):
                path.unlink(missing_ok=True)

    # Persistence: one .npz per embedding version in the data folder.
    def _path(self, embedding: EmbeddingId, suffix: str = ".npz") -> Path | None:
        if self.folder is None:
            return None
        safe = f"{embedding.name}-{embedding.version}".replace("/", "_").replace(":", "_")
        return self.folder / f"{safe}{suffix}"

    def close(self) -> None:
        for embedding, m in self._matrices.items():
            path = self._path(embedding)
            if path is None or m.size == 0:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".tmp.npz")
            np.savez(
                partial,
                format=np.int64(FILE_FORMAT),
                token=np.array(m.token),
                seq=np.int64(m.seq),
                vectors=m.vectors[: m.size],
                ids=np.array(m.ids, dtype=object),
                model_values=np.array(m.models.values, dtype=object),
                model_codes=m.models.codes[: m.size],
                outcome_values=np.array(m.outcomes.values, dtype=object),
                outcome_codes=m.outcomes.codes[: m.size],
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
                if "format" not in saved or int(saved["format"]) != FILE_FORMAT:
                    raise ValueError("a file of an older format")
                vectors = saved["vectors"]
                if vectors.shape[1] != self.dim:
                    raise ValueError(f"{vectors.shape[1]}-dim file for a {self.dim}-dim index")
                ids = [str(i) for i in saved["ids"]]
                alive = saved["alive"].astype(np.bool_)
                return _Matrix(
                    dim=self.dim,
                    token=str(saved["token"]),
                    seq=int(saved["seq"]),
                    size=len(ids),
                    vectors=vectors.astype(np.float32),
                    ids=ids,
                    models=_Codes(list(saved["model_values"]), saved["model_codes"]),
                    outcomes=_Codes(list(saved["outcome_values"]), saved["outcome_codes"]),
                    times=saved["times"].astype(np.int64),
                    alive=alive,
                    position={r: i for i, r in enumerate(ids) if alive[i]},
                )
        except Exception as error:  # a damaged file is rebuilt from the table, never fatal
            log.warning("embedded vector index %s unreadable (%s): rebuilding", path, error)
            return None
