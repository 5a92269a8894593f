"""Embedded adapter for large sizes: an HNSW graph (hnswlib) beside the exact matrix.

Chosen by count, per embedding version: below `GRAPH_FROM` vectors a search is the exact
matrix product of `ExactIndex` (as fast as a graph there, recall 1.0, nothing to build);
from `GRAPH_FROM` on, an HNSW graph answers and the matrix re-ranks its candidates exactly.
hnswlib over usearch, measured at 100,000 of our vectors on this machine (README, "Speed"):
it built the graph 3.8x faster (79 s against 297 s, 2 threads) and answered 4-5x faster at
the same ef (p50 0.08-0.25 ms against 0.36-1.4 ms) with higher recall (0.974 against 0.963 at
ef 64). Its cost: PyPI has only its source, so the image's build stage needs a C++ compiler.

Filters (time range, label, outcome, model, deleted rows) are over-fetch-and-filter: the
graph is asked for `OVERFETCH * k / share` candidates, where `share` is the fraction of rows
passing the filter (known exactly from the metadata arrays before searching), and the ones
that pass are re-ranked exactly. A filter so selective that this would need more than
`MAX_FETCH` candidates, or that leaves no more than `GRAPH_FROM` rows, is answered by exact
search over the rows that pass, which is then the cheaper of the two. Not hnswlib's filter
callback: it calls back into Python for every visited node (measured at a 10% filter: p50
1.4 ms, p95 21 ms, against 0.1-0.2 ms for a plain search), and re-ranking a few hundred
extra candidates costs less.

Keys in the graph are the matrix's row positions. The graph is saved next to the matrix's
file under a token the matrix carries, so a matrix rebuilt from the table (other positions)
never meets an old graph; a graph missing or behind is rebuilt or extended from the matrix,
in a background task when that is more than `INLINE_ADD` rows (searches are exact meanwhile).
"""

import asyncio
import logging
import math
from pathlib import Path
from typing import Protocol

import hnswlib
import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.similarity.exact import ExactIndex, _Matrix
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter
from riskops.similarity.vectors import Vector

log = logging.getLogger(__name__)

# Exact below this many vectors: one 15 MB product (~1-2 ms on a quiet core, recall 1.0, no
# graph to build); beyond it a graph search stays under 1 ms while exact grows linearly
# (29.8 ms p50 at 100,000 on this loaded machine; README "Speed").
GRAPH_FROM = 10_000
CONNECTIVITY = 16  # HNSW M
EXPANSION_ADD = 64  # ef_construction, as pgvector's default: half the build time of 128
EF_SEARCH = 256  # recall@10 0.97 on random 384-dim vectors (the worst case; ours need ~64)
OVERFETCH = 2.0
# At 1,000,000 records a 1% filter (label=fraud) asked the graph for 2,000 candidates: p50
# 113 ms. From 1,024 on, exact search over the rows passing (at most 2% of them) is cheaper.
MAX_FETCH = 1_024
INLINE_ADD = 5_000  # rows added within a search's catch-up; more go to a background build
BUILD_CHUNK = 50_000  # rows per thread hand-off: a stop is honoured within one chunk
BUILD_THREADS = 2


class Graph(Protocol):
    """What this adapter uses of `hnswlib.Index` (the package ships no type hints)."""

    element_count: int

    def init_index(self, max_elements: int, M: int, ef_construction: int) -> None: ...
    def set_ef(self, ef: int) -> None: ...
    def knn_query(
        self, data: Vector, k: int, num_threads: int
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    def add_items(self, data: Vector, ids: npt.NDArray[np.int64], num_threads: int) -> None: ...
    def get_max_elements(self) -> int: ...
    def resize_index(self, size: int) -> None: ...
    def save_index(self, path: str) -> None: ...
    def load_index(self, path: str, max_elements: int) -> None: ...


def _hnswlib_index(dim: int) -> Graph:
    graph: Graph = hnswlib.Index(space="cosine", dim=dim)
    return graph


def _new_graph(dim: int, capacity: int) -> Graph:
    graph = _hnswlib_index(dim)
    graph.init_index(max_elements=capacity, M=CONNECTIVITY, ef_construction=EXPANSION_ADD)
    graph.set_ef(EF_SEARCH)
    return graph


def _size(graph: Graph) -> int:
    return int(graph.element_count)


class HnswIndex(ExactIndex):
    name = "embedded"

    def __init__(
        self,
        folder: Path | None,
        dim: int,
        graph_from: int = GRAPH_FROM,
        ef_search: int = EF_SEARCH,
    ) -> None:
        super().__init__(folder, dim)
        self.graph_from = graph_from
        self.ef_search = ef_search
        self._graphs: dict[EmbeddingId, Graph] = {}
        self._locks: dict[EmbeddingId, asyncio.Lock] = {}
        self._builds: dict[EmbeddingId, asyncio.Task[None]] = {}
        self._generation = 0  # bumped by clear() and close(): running builds are abandoned

    def graph_size(self, embedding: EmbeddingId) -> int:
        """Vectors in the embedding's graph (0: searches are exact)."""
        graph = self._graphs.get(embedding)
        return 0 if graph is None else _size(graph)

    async def warm(self, connection: AsyncConnection, embedding: EmbeddingId) -> None:
        """Catch up with the table and wait for the graph (start-up, benchmarks, tests)."""
        await self._catch_up(connection, embedding)
        build = self._builds.get(embedding)
        if build is not None:
            await build

    async def _catch_up(self, connection: AsyncConnection, embedding: EmbeddingId) -> _Matrix:
        lock = self._locks.setdefault(embedding, asyncio.Lock())
        async with lock:  # one catch-up at a time: the graph is extended once per new row
            m = await super()._catch_up(connection, embedding)
            await self._extend(embedding, m)
        return m

    async def _extend(self, embedding: EmbeddingId, m: _Matrix) -> None:
        if m.size < self.graph_from or embedding in self._builds:
            return
        graph = self._graphs.get(embedding)
        if graph is None:
            graph = self._load_graph(embedding, m) or _new_graph(self.dim, m.size)
        if m.size - _size(graph) > INLINE_ADD:
            self._graphs.pop(embedding, None)  # exact until the build has caught up
            task = asyncio.create_task(self._build(embedding, graph, m, self._generation))
            self._builds[embedding] = task
            task.add_done_callback(
                lambda done: (
                    self._builds.pop(embedding) if self._builds.get(embedding) is done else None
                )
            )
            return
        if _size(graph) < m.size:
            _reserve(graph, m.size)  # here, not in the thread: a resize must not meet a search
            await asyncio.to_thread(_add, graph, m, _size(graph), m.size)
        self._graphs[embedding] = graph

    async def _build(
        self, embedding: EmbeddingId, graph: Graph, m: _Matrix, generation: int
    ) -> None:
        started = _size(graph)
        try:
            while _size(graph) < m.size:
                if generation != self._generation:
                    return
                stop = min(m.size, _size(graph) + BUILD_CHUNK)
                _reserve(graph, stop)  # the graph is not searched before it is installed
                await asyncio.to_thread(_add, graph, m, _size(graph), stop)
        except Exception:  # searches stay exact; the next catch-up starts a new build
            log.exception("vector graph %s: build failed", embedding)
            return
        if generation == self._generation and self._matrices.get(embedding) is m:
            self._graphs[embedding] = graph
            log.info(
                "vector graph %s: %d vectors added, %d in all",
                embedding,
                _size(graph) - started,
                _size(graph),
            )

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
        keep = await self._keep(connection, m, where, exclude)
        count = int(keep.sum())
        graph = self._graphs.get(embedding)
        if count == 0:
            return []
        if graph is None or count <= self.graph_from:
            return m.exact(keep, vector, k)
        fetch = max(k, math.ceil(OVERFETCH * k * m.size / count))
        while fetch <= MAX_FETCH:
            wanted = min(fetch, _size(graph))
            graph.set_ef(max(self.ef_search, wanted))
            try:
                found, _ = graph.knn_query(np.asarray(vector, np.float32), k=wanted, num_threads=1)
            except RuntimeError:  # hnswlib found fewer than `wanted`: the exact answer
                break
            keys = found[0].astype(np.int64)
            keys = keys[keys < len(keep)]  # rows mirrored after `keep` was computed
            hits = keys[keep[keys]]
            if len(hits) >= k or wanted < fetch:
                return m.nearest(hits, vector, k)
            fetch *= 4
        return m.exact(keep, vector, k)

    def clear(self) -> None:
        self._generation += 1
        self._graphs.clear()
        super().clear()
        if self.folder is not None and self.folder.exists():
            for path in self.folder.glob("*.hnsw"):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._generation += 1  # a build still running is dropped; the next start resumes it
        super().close()
        for embedding, graph in self._graphs.items():
            m = self._matrices.get(embedding)
            path = self._graph_path(embedding, m) if m is not None else None
            if path is None:
                continue
            for old in path.parent.glob(f"{self._stem(embedding)}.*.hnsw"):
                old.unlink(missing_ok=True)  # graphs of an earlier matrix
            partial = path.with_suffix(".tmp")
            graph.save_index(str(partial))
            partial.replace(path)

    def _stem(self, embedding: EmbeddingId) -> str:
        path = self._path(embedding, "")
        return "" if path is None else path.name

    def _graph_path(self, embedding: EmbeddingId, m: _Matrix) -> Path | None:
        return self._path(embedding, f".{m.token}.hnsw")

    def _load_graph(self, embedding: EmbeddingId, m: _Matrix) -> Graph | None:
        path = self._graph_path(embedding, m)
        if path is None or not path.exists():
            return None
        try:
            graph = _hnswlib_index(self.dim)
            graph.load_index(str(path), max_elements=m.size)
            if _size(graph) > m.size:
                raise ValueError("not a graph of this matrix")
            graph.set_ef(self.ef_search)
            return graph
        except Exception as error:  # a damaged graph is rebuilt from the matrix, never fatal
            log.warning("vector graph %s unreadable (%s): rebuilding", path, error)
            return None


def _reserve(graph: Graph, size: int) -> None:
    if graph.get_max_elements() < size:
        graph.resize_index(max(size, int(graph.get_max_elements() * 1.5)))


def _add(graph: Graph, m: _Matrix, start: int, stop: int) -> None:
    keys: npt.NDArray[np.int64] = np.arange(start, stop, dtype=np.int64)
    graph.add_items(m.vectors[start:stop], keys, num_threads=BUILD_THREADS)
