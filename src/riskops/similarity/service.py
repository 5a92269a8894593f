"""Similar cases: embed records in batches, find a record's or a payload's nearest neighbours.

`Similarity` holds what outlives a request (the index adapter, the fitted embedders); every
method receives a connection and never begins or commits.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound, Unavailable, Unprocessable
from riskops.db.types import utcnow
from riskops.features import FEATURE_NAMES
from riskops.similarity import repository
from riskops.similarity.embedders import Embedder, FeatureEmbedder, fit_feature_params
from riskops.similarity.index import EmbeddingId, NeighbourFilter, VectorIndex
from riskops.similarity.vectors import Vector

FIT_SAMPLE = 20_000  # records a new version's feature scales are fitted on
KNOWN_EMBEDDERS = ("features",)


class InvalidQuery(Unprocessable):
    code = "invalid_features"


@dataclass(frozen=True, slots=True)
class BatchResult:
    embedded: int
    last: tuple[datetime, str] | None  # keyset position: where the next batch starts


@dataclass
class Similarity:
    index: VectorIndex
    embedding: EmbeddingId  # the version written and searched
    dim: int
    k_max: int = 100
    _embedders: dict[EmbeddingId, Embedder] = field(default_factory=dict)

    async def embedder(
        self, connection: AsyncConnection, embedding: EmbeddingId | None = None, *, fit: bool
    ) -> Embedder | None:
        """The version's embedder; with `fit`, a version never seen is fitted and stored."""
        embedding = embedding or self.embedding
        found = self._embedders.get(embedding)
        if found is not None:
            return found
        if embedding.name not in KNOWN_EMBEDDERS:
            raise Unprocessable(
                f"unknown embedding {embedding.name!r}", {"known": list(KNOWN_EMBEDDERS)}
            )
        row = await repository.get_version(connection, embedding)
        if row is None:
            if not fit:
                return None
            sample = await repository.sample_features(connection, FIT_SAMPLE)
            params = fit_feature_params(FEATURE_NAMES, sample)
            await repository.insert_version(
                connection,
                {
                    "embedding_name": embedding.name,
                    "embedding_version": embedding.version,
                    "dim": self.dim,
                    "params": params,
                    "created_at": utcnow(),
                },
            )
            found = FeatureEmbedder.from_params(embedding.version, self.dim, params)
        else:
            found = FeatureEmbedder.from_params(embedding.version, row.dim, row.params)
        self._embedders[embedding] = found
        return found

    async def embed_batch(
        self,
        connection: AsyncConnection,
        after: tuple[datetime, str] | None,
        limit: int,
        embedding: EmbeddingId | None = None,
    ) -> BatchResult:
        """Embed the next `limit` records lacking this version (oldest first)."""
        embedding = embedding or self.embedding
        records = await repository.records_without(connection, embedding, after, limit)
        if not records:
            return BatchResult(0, after)
        embedder = await self.embedder(connection, embedding, fit=True)
        assert embedder is not None
        vectors = embedder.embed_many([r["features"] or {} for r in records])
        await repository.insert_embeddings(
            connection,
            [
                {
                    "record_id": r["id"],
                    "embedding_name": embedding.name,
                    "embedding_version": embedding.version,
                    "kind": r["kind"],
                    "model_name": r["model_name"],
                    "outcome": r["outcome"],
                    "score": r["score"],
                    "created_at": r["created_at"],
                    "vector": vectors[i],
                }
                for i, r in enumerate(records)
            ],
        )
        last = records[-1]
        return BatchResult(len(records), (last["created_at"], last["id"]))

    async def vector_of(self, connection: AsyncConnection, record_id: str) -> Vector:
        """The record's vector: 404 if no such record, 409-free retry hint if not embedded yet."""
        vector = await repository.vector_of(connection, record_id, self.embedding)
        if vector is not None:
            return vector  # type: ignore[no-any-return]
        if not await repository.record_exists(connection, record_id):
            raise NotFound(f"record {record_id} does not exist", {"record_id": record_id})
        raise Unavailable(
            f"record {record_id} has no {self.embedding} embedding yet; retry in a few seconds",
            {"record_id": record_id, "embedding": str(self.embedding)},
        )

    async def vector_for_features(
        self, connection: AsyncConnection, features: Mapping[str, Any]
    ) -> Vector:
        unknown = sorted(set(features) - set(FEATURE_NAMES))
        wrong = [
            n
            for n, v in features.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
        ]
        if unknown or wrong or not features:
            raise InvalidQuery(
                "the features must be known feature names with finite numbers",
                {"unknown": unknown, "not_numeric": sorted(wrong), "known": list(FEATURE_NAMES)},
            )
        embedder = await self.embedder(connection, fit=False)
        if embedder is None:
            raise Unavailable(
                f"no record has a {self.embedding} embedding yet; retry in a few seconds",
                {"embedding": str(self.embedding)},
            )
        return embedder.embed(features)

    async def nearest(
        self,
        connection: AsyncConnection,
        vector: Vector,
        k: int,
        where: NeighbourFilter,
        exclude: str | None = None,
    ) -> list[dict[str, Any]]:
        """The k nearest records with what an analyst reads first, nearest first."""
        k = max(1, min(k, self.k_max))
        found = await self.index.search(connection, self.embedding, vector, k, where, exclude)
        ids = [n.record_id for n in found]
        facts = await repository.facts_of(connection, ids)
        labels = await repository.labels_of(connection, ids)
        items = []
        for n in found:
            fact = facts.get(n.record_id)
            if fact is None:
                continue  # deleted between the search and this read
            items.append(
                {
                    "id": n.record_id,
                    "distance": round(n.distance, 6),
                    "kind": fact.kind,
                    "model_name": fact.model_name,
                    "score": fact.score,
                    "outcome": fact.outcome,
                    "label": labels.get(n.record_id),
                    "created_at": fact.created_at,
                }
            )
        return items

    async def embedding_of(self, connection: AsyncConnection, record_id: str) -> dict[str, Any]:
        vector = await repository.vector_of(connection, record_id, self.embedding)
        return {
            "name": self.embedding.name,
            "version": self.embedding.version,
            "dim": self.dim,
            "vector": None if vector is None else [round(float(v), 7) for v in vector],
        }
