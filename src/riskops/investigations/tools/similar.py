"""The similarity tool: the nearest past records with their outcomes and labels, and the share
of confirmed fraud among the labelled ones. A payment not embedded yet is the similarity
service's 503, which the step trace records as this step's error."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.investigations.evidence import Evidence, EvidenceBag
from riskops.similarity.index import NeighbourFilter
from riskops.similarity.service import Similarity

NEIGHBOURS = 10
MAJORITY_MIN_LABELLED = 3  # fewer labelled neighbours say nothing about a majority


@dataclass(frozen=True, slots=True)
class SimilarInput:
    transaction_id: str
    k: int = NEIGHBOURS


@dataclass(frozen=True, slots=True)
class SimilarCases:
    neighbours: list[dict[str, Any]]
    labelled: int
    fraud: int
    evidence: list[Evidence]
    summary_id: str | None  # the evidence item stating the fraud share

    @property
    def fraud_share(self) -> float | None:
        return self.fraud / self.labelled if self.labelled else None

    @property
    def fraud_majority(self) -> bool:
        return self.labelled >= MAJORITY_MIN_LABELLED and self.fraud * 2 > self.labelled


def summarise(neighbours: list[dict[str, Any]]) -> SimilarCases:
    bag = EvidenceBag("S")
    labelled = [n for n in neighbours if n.get("label") is not None]
    fraud = sum(1 for n in labelled if n["label"] == "fraud")
    for n in neighbours:
        n["evidence_id"] = bag.add(
            "similar",
            f"Past payment {n['id']} (distance {n['distance']:.3f}) was decided {n['outcome']}"
            + (f" and is labelled {n['label']}" if n.get("label") else ", not labelled"),
            record_id=n["id"],
            distance=n["distance"],
            outcome=n["outcome"],
            label=n.get("label"),
        )
    summary_id = None
    if neighbours:
        summary_id = bag.add(
            "similar_summary",
            f"{fraud} of the {len(labelled)} labelled nearest past payments are fraud",
            labelled=len(labelled),
            fraud=fraud,
        )
    return SimilarCases(neighbours, len(labelled), fraud, bag.items, summary_id)


async def find(
    connection: AsyncConnection, similarity: Similarity, given: SimilarInput
) -> SimilarCases:
    vector = await similarity.vector_of(connection, given.transaction_id)
    found = await similarity.nearest(
        connection, vector, given.k, NeighbourFilter(), exclude=given.transaction_id
    )
    return summarise(found)
