"""Embedded adapter for large sizes: an HNSW graph (usearch) beside the exact matrix.

Chosen by count, per embedding version: below `GRAPH_FROM` vectors a search is the exact
matrix product of `ExactIndex` (as fast as a graph there, recall 1.0, nothing to build);
from `GRAPH_FROM` on, an HNSW graph answers and the matrix re-ranks its candidates exactly.
usearch over hnswlib: measured in benchmarks/similarity.py's notes (README), it builds the
graph faster at the same recall, ships wheels (hnswlib 0.8.0 is a source-only package that
needs a compiler in the image), and saves and restores a graph in one call.

Filters (time range, label, outcome, model, deleted rows) are over-fetch-and-filter: the
graph is asked for `OVERFETCH * k / share` candidates, where `share` is the fraction of rows
passing the filter (known exactly from the metadata arrays before searching), and the ones
that pass are re-ranked exactly. A filter so selective that this would need more than
`MAX_FETCH` candidates, or that leaves no more than `GRAPH_FROM` rows, is answered by exact
search over the rows that pass, which is then the cheaper of the two. Not a filter callback:
usearch's Python API has none, and hnswlib's calls back into Python for every visited node
(slower than re-ranking a few hundred extra candidates).

Keys in the graph are the matrix's row positions. The graph is saved next to the matrix's
file under a token the matrix carries, so a matrix rebuilt from the table (other positions)
never meets an old graph; a graph missing or behind is rebuilt or extended from the matrix,
in a background task when that is more than `INLINE_ADD` rows (searches are exact meanwhile).
"""

import asyncio
import logging
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection
from usearch.index import Index

from riskops.similarity.exact import ExactIndex, _Matrix
from riskops.similarity.index import EmbeddingId, Neighbour, NeighbourFilter
from riskops.similarity.vectors import Vector

log = logging.getLogger(__name__)

GRAPH_FROM = 20_000  # exact search below (benchmarks/similarity.py --threshold)
CONNECTIVITY = 16  # HNSW M
EXPANSION_ADD = 128  # ef_construction
EF_SEARCH = 64  # recall@10 >= 0.95 at 1,000,000 records with the re-rank
OVERFETCH = 2.0
MAX_FETCH = 2_048
INLINE_ADD = 5_000  # rows added within a search's catch-up; more go to a background build
BUILD_CHUNK = 50_000  # rows per thread hand-off: a stop is honoured within one chunk
BUILD_THREADS = 0  # usearch: every core


def _new_graph(dim: int) -> Index:
    return Index(
        ndim=dim,
        metric="cos",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EF_SEARCH,
    )


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
        self._graphs: dict[EmbeddingId, Index] = {}
        self._locks: dict[EmbeddingId, asyncio.Lock] = {}
        self._builds: dict[EmbeddingId, asyncio.Task[None]] = {}
        self._generation = 0  # bumped by clear() and close(): running builds are abandoned

    def graph_size(self, embedding: EmbeddingId) -> int:
        """Vectors in the embedding's graph (0: searches are exact)."""
        graph = self._graphs.get(embedding)
        return 0 if graph is None else len(graph)

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
            graph = self._load_graph(embedding, m) or _new_graph(self.dim)
        if m.size - len(graph) > INLINE_ADD:
            self._graphs.pop(embedding, None)  # exact until the build has caught up
            task = asyncio.create_task(self._build(embedding, graph, m, self._generation))
            self._builds[embedding] = task
            task.add_done_callback(
                lambda done: (
                    self._builds.pop(embedding) if self._builds.get(embedding) is done else None
                )
            )
            return
        if len(graph) < m.size:
            await asyncio.to_thread(_add, graph, m, len(graph), m.size)
        self._graphs[embedding] = graph

    async def _build(
        self, embedding: EmbeddingId, graph: Index, m: _Matrix, generation: int
    ) -> None:
        started = len(graph)
        try:
            while len(graph) < m.size:
                if generation != self._generation:
                    return
                stop = min(m.size, len(graph) + BUILD_CHUNK)
                await asyncio.to_thread(_add, graph, m, len(graph), stop)
        except Exception:  # searches stay exact; the next catch-up starts a new build
            log.exception("vector graph %s: build failed", embedding)
            return
        if generation == self._generation and self._matrices.get(embedding) is m:
            self._graphs[embedding] = graph
            log.info(
                "vector graph %s: %d vectors added, %d in all",
                embedding,
                len(graph) - started,
                len(graph),
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
            graph.expansion_search = max(self.ef_search, fetch)
            found = graph.search(np.asarray(vector, np.float32), fetch)
            keys = np.asarray(found.keys, np.int64)
            keys = keys[keys < len(keep)]  # rows mirrored after `keep` was computed
            hits = keys[keep[keys]]
            if len(hits) >= k or len(keys) < fetch:
                return m.nearest(hits, vector, k)
            fetch *= 4
        return m.exact(keep, vector, k)

    def clear(self) -> None:
        self._generation += 1
        self._graphs.clear()
        super().clear()
        if self.folder is not None and self.folder.exists():
            for path in self.folder.glob("*.usearch"):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._generation += 1  # a build still running is dropped; the next start resumes it
        super().close()
        for embedding, graph in self._graphs.items():
            m = self._matrices.get(embedding)
            path = self._graph_path(embedding, m) if m is not None else None
            if path is None:
                continue
            for old in path.parent.glob(f"{self._stem(embedding)}.*.usearch"):
                old.unlink(missing_ok=True)  # graphs of an earlier matrix
            partial = path.with_suffix(".tmp")
            graph.save(str(partial))
            partial.replace(path)

    def _stem(self, embedding: EmbeddingId) -> str:
        path = self._path(embedding, "")
        return "" if path is None else path.name

    def _graph_path(self, embedding: EmbeddingId, m: _Matrix) -> Path | None:
        return self._path(embedding, f".{m.token}.usearch")

    def _load_graph(self, embedding: EmbeddingId, m: _Matrix) -> Index | None:
        path = self._graph_path(embedding, m)
        if path is None or not path.exists():
            return None
        try:
            graph = Index.restore(str(path))
            if graph is None or graph.ndim != self.dim or len(graph) > m.size:
                raise ValueError("not a graph of this matrix")
            graph.expansion_search = self.ef_search
            return graph
        except Exception as error:  # a damaged graph is rebuilt from the matrix, never fatal
            log.warning("vector graph %s unreadable (%s): rebuilding", path, error)
            return None


def _add(graph: Index, m: _Matrix, start: int, stop: int) -> None:
    keys: npt.NDArray[np.int64] = np.arange(start, stop, dtype=np.int64)
    graph.add(keys, m.vectors[start:stop], threads=BUILD_THREADS)
