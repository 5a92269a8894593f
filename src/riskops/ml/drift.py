"""Population stability index: the textbook 10-bin PSI, computed here against training data.

Bins are the reference's deciles (duplicate edges merged, so a 0/1 flag has two bins);
a value v falls in bin i when edges[i-1] <= v < edges[i]. Empty bins are floored at
EPSILON on both sides so the logarithm stays finite. PSI < 0.1 is stable, 0.1-0.25 a
moderate shift, >= 0.25 a major one; the promotion gate refuses 0.3 and above.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

BINS: Final = 10
EPSILON: Final = 1e-4
SCORE: Final = "__score__"  # the key of the score's own reference among the features'


@dataclass(frozen=True, slots=True)
class Reference:
    """One variable's training distribution: inner bin edges and each bin's share."""

    edges: tuple[float, ...]
    proportions: tuple[float, ...]

    def to_json(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "proportions": list(self.proportions)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Reference":
        return cls(tuple(map(float, data["edges"])), tuple(map(float, data["proportions"])))


def _shares(edges: Sequence[float], values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    return counts / max(len(values), 1)


def reference_of(values: Sequence[float] | npt.NDArray[np.float64], bins: int = BINS) -> Reference:
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        raise ValueError("a reference distribution needs at least one finite value")
    quantiles = np.quantile(data, np.linspace(0, 1, bins + 1)[1:-1])
    # Edges strictly inside the data's range; the minimum must not open an empty first bin.
    edges = tuple(float(e) for e in np.unique(quantiles) if e > data.min())
    return Reference(edges, tuple(float(p) for p in _shares(edges, data)))


def psi(reference: Reference, values: Sequence[float] | npt.NDArray[np.float64]) -> float:
    """PSI of `values` against the reference: sum((a - e) * ln(a / e)) over the bins."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        raise ValueError("PSI needs at least one finite value")
    actual = _shares(reference.edges, data)
    total = 0.0
    for expected_share, actual_share in zip(reference.proportions, actual, strict=True):
        e = max(expected_share, EPSILON)
        a = max(float(actual_share), EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def references_of(columns: Mapping[str, npt.NDArray[np.float64]]) -> dict[str, Reference]:
    return {name: reference_of(values) for name, values in columns.items()}


def psi_report(
    references: Mapping[str, Reference], columns: Mapping[str, npt.NDArray[np.float64]]
) -> dict[str, float]:
    """PSI per variable present in both the references and the window."""
    return {
        name: round(psi(ref, columns[name]), 6)
        for name, ref in references.items()
        if name in columns and len(columns[name])
    }
