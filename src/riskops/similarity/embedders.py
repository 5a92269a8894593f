"""Embedders: a record's feature vector to a unit vector whose cosine distance means "alike".

`features`: each feature standardised by the version's fitted statistics (so the typical
payment sits at the origin and cosine compares how a payment deviates, not how big its
numbers are), then projected to the configured dimension with a fixed Gaussian matrix
(Johnson-Lindenstrauss: cosines are kept). Each feature's projection row is seeded by its
name, so a feature added later leaves the others' rows unchanged.

Two transforms, fitted per version and stored with it: `linear` (z-scores, the default) and
`log` (signed-log, median/IQR, clipped). On the handbook data the linear z-scores put more
fraud among a fraud's neighbours (benchmarks/similarity_fdh.py: the amount and the velocity
extremes are the fraud signal, and the log and the clip flatten them).
"""

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from riskops.similarity.vectors import Vector


class Embedder(Protocol):
    name: str
    version: str
    dim: int

    def embed(self, features: Mapping[str, Any]) -> Vector: ...

    def embed_many(self, rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float32]: ...


def split_embedding(spec: str) -> tuple[str, str]:
    name, _, version = spec.partition("/")
    return name, version


def signed_log(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.sign(values) * np.log1p(np.abs(values))
    return out


def _projection_row(feature: str, dim: int) -> npt.NDArray[np.float64]:
    seed = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    row: npt.NDArray[np.float64] = np.random.default_rng(seed).standard_normal(dim) / np.sqrt(dim)
    return row


@dataclass
class FeatureEmbedder:
    """Standardised, signed-log features projected to `dim` (fitted by `fit_feature_params`)."""

    version: str
    dim: int
    features: list[str]
    center: list[float]
    scale: list[float]
    transform: str = "linear"  # linear | log
    clip: float = 20.0  # in scale units: bounds one absurd value, keeps real extremes
    name: str = "features"
    _matrix: npt.NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._matrix = np.vstack([_projection_row(f, self.dim) for f in self.features])
        self._center = np.asarray(self.center)
        self._scale = np.asarray(self.scale)

    @classmethod
    def from_params(cls, version: str, dim: int, params: Mapping[str, Any]) -> "FeatureEmbedder":
        return cls(
            version,
            dim,
            list(params["features"]),
            params["center"],
            params["scale"],
            params.get("transform", "linear"),
            float(params.get("clip", 20.0)),
        )

    def _matrix_of(self, rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float64]:
        raw = np.array(
            [[_number(row.get(f)) for f in self.features] for row in rows], dtype=np.float64
        ).reshape(len(rows), len(self.features))
        return self._standardise(raw)

    def _standardise(self, raw: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        values = signed_log(raw) if self.transform == "log" else raw
        z = (values - self._center) / self._scale
        # A missing feature sits at the typical value; extreme values are clipped so one
        # absurd amount does not make every other feature irrelevant.
        clipped: npt.NDArray[np.float64] = np.clip(np.nan_to_num(z, nan=0.0), -self.clip, self.clip)
        return clipped

    def embed_many(self, rows: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float32]:
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        projected = self._matrix_of(rows) @ self._matrix
        return normalise(projected)

    def embed_matrix(self, raw: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """Rows of raw feature values, columns in `features` order (bulk loaders)."""
        return normalise(self._standardise(raw) @ self._matrix)

    def embed(self, features: Mapping[str, Any]) -> Vector:
        vector: Vector = self.embed_many([features])[0]
        return vector


def normalise(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    flat = norms[:, 0] == 0
    if flat.any():
        # An all-typical record has no direction of its own: one fixed direction for all of
        # them keeps cosine defined (pgvector's is NaN for a zero vector) and keeps them alike.
        matrix = matrix.copy()
        matrix[flat] = _typical_direction(matrix.shape[1])
        norms[flat] = 1.0
    unit: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
    return unit


def _typical_direction(dim: int) -> npt.NDArray[np.float64]:
    row = _projection_row("__typical__", dim)
    unit: npt.NDArray[np.float64] = row / np.linalg.norm(row)
    return unit


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return float("nan")


def fit_feature_params(
    features: Sequence[str], rows: Sequence[Mapping[str, Any]], transform: str = "linear"
) -> dict[str, Any]:
    """Centre and scale of each feature: mean/std (linear) or median/IQR of the signed log."""
    names = list(features)
    center, scale = np.zeros(len(names)), np.ones(len(names))
    if rows:
        raw = np.array([[_number(r.get(f)) for f in names] for r in rows], dtype=np.float64)
        values = signed_log(raw) if transform == "log" else raw
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing feature
            std = np.nanstd(values, axis=0)
            if transform == "log":
                center = np.nanmedian(values, axis=0)
                q75, q25 = np.nanpercentile(values, [75, 25], axis=0)
                scale = np.where((q75 - q25) > 1e-9, (q75 - q25) / 1.349, std)
            else:
                center, scale = np.nanmean(values, axis=0), std
        center = np.nan_to_num(center, nan=0.0)
        scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    return {
        "features": names,
        "transform": transform,
        "clip": 6.0 if transform == "log" else 20.0,
        "center": [round(float(c), 6) for c in center],
        "scale": [round(float(s), 6) for s in scale],
    }
