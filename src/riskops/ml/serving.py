"""In-process serving: champion scores every decision, a sticky canary share goes to the challenger,
shadow models score off the hot path.

Scoring goes through LightGBM's prepared single-row C API (ml/fastpredict.py), and so do
contributions (tree SHAP, `pred_contrib`), computed only for scores at or
above the review threshold: an approved payment needs no explanation on the hot path,
a reviewed or declined one always carries its top reasons.

The canary is sticky per card: a card's bucket is a hash of its token, so a card stays with
one model while the share is unchanged. Models are swapped by replacing one reference,
so a request in flight finishes on the model it started with.
"""

import hashlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from riskops.decisions.scoring import Contribution, ModelScore
from riskops.ml.observability import MODEL_ERRORS, MODEL_SCORES
from riskops.ml.registry import Alias, LoadedModel

log = logging.getLogger(__name__)
SHADOW_QUEUE_MAX: Final = 50_000  # bounded: a stalled writer drops shadow work, never the API
_BUCKETS: Final = float(2**64)
_MISSING: Final = itertools.repeat(np.nan)  # endless: `map` stops at the feature list's end


def canary_bucket(card: str) -> float:
    """A stable number in [0, 1) per card: the card is canaried when it is below the share."""
    digest = hashlib.blake2b(card.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _BUCKETS


class ServedModel:
    """One loaded version, scoring single rows with the raw Booster."""

    def __init__(self, model: LoadedModel, alias: Alias = Alias.CHAMPION) -> None:
        self.model = model
        self.scored = MODEL_SCORES.labels(model.name, model.version, alias.value)
        self.name = model.name
        self.version = model.version
        self.features = model.features
        self._width = len(model.features)
        if model.booster.num_feature() != self._width:
            # The fast path reads exactly `width` values: a mismatch must never reach it.
            raise ValueError(
                f"{model.name} v{model.version} was trained on {model.booster.num_feature()} "
                f"features but lists {self._width}: refusing to serve it"
            )
        from riskops.ml.fastpredict import FastPredictor  # lightgbm: only once a model is served

        self._fast = FastPredictor(model.booster, self._width)
        self._explainer = FastPredictor(model.booster, self._width, contributions=True)

    def vector(self, features: Mapping[str, float | int]) -> npt.NDArray[np.float64]:
        # Missing features become NaN: LightGBM routes them down its learned missing branch.
        values = map(features.get, self.features, itertools.repeat(np.nan))
        return np.fromiter(values, np.float64, self._width).reshape(1, self._width)

    def predict(self, row: npt.NDArray[np.float64]) -> float:
        return self._fast.predict(row)

    def predict_features(self, features: Mapping[str, float | int]) -> float:
        """`predict(vector(features))` without building the numpy row (the hot path's call)."""
        return self._fast.predict_values(map(features.get, self.features, _MISSING))

    def contributions(self, row: npt.NDArray[np.float64]) -> list[Contribution]:
        """Each present (or pushing) feature's SHAP value: `Booster.predict(row,
        pred_contrib=True)` through the prepared fast path (tests/ml compare them exactly)."""
        values = self._explainer.contributions(row).tolist()
        return [
            Contribution(name, x, round(c, 6))
            for name, x, c in zip(self.features, row[0].tolist(), values, strict=False)
            if x == x or c != 0.0  # x != x: NaN, a missing feature
        ]


@dataclass(frozen=True, slots=True)
class ShadowWork:
    transaction_id: str
    features: dict[str, float | int]
    champion_score: float
    at: float


@dataclass(frozen=True, slots=True)
class ServingError:
    transaction_id: str
    alias: Alias
    model_name: str
    model_version: str
    error: str
    at: float


class ModelServer:
    """The pipeline's Scorer: routes each payment to champion or challenger, queues shadows."""

    def __init__(
        self,
        *,
        canary_share: float,
        explain_above: float,
        on_change: Callable[["ModelServer"], None] | None = None,
    ) -> None:
        self.canary_share = canary_share
        self.explain_above = explain_above
        self.models: dict[Alias, ServedModel] = {}
        self.shadow_queue: deque[ShadowWork] = deque(maxlen=SHADOW_QUEUE_MAX)
        self.errors: deque[ServingError] = deque(maxlen=SHADOW_QUEUE_MAX)
        self.traffic: dict[tuple[str, str], int] = {}
        self._on_change = on_change
        # What the console's status line shows: a first champion in training, or since when
        # the current champion serves (None: rules alone).
        self.training_since: datetime | None = None
        self.champion_since: datetime | None = None
        self.loaded = False  # the registry was read once (until then: still loading)

    @property
    def champion(self) -> ServedModel | None:
        return self.models.get(Alias.CHAMPION)

    def install(self, alias: Alias, model: LoadedModel | None) -> None:
        if model is None:
            self.models.pop(alias, None)
        else:
            self.models[alias] = ServedModel(model, alias)
        if alias == Alias.CHAMPION:
            self.champion_since = datetime.now(UTC) if model is not None else None
        log.info("serving %s: %s", alias, f"{model.name} v{model.version}" if model else "none")
        if self._on_change is not None:
            self._on_change(self)

    def installed(self, alias: Alias) -> str | None:
        served = self.models.get(alias)
        return served.version if served else None

    def score(self, features: Mapping[str, float | int], *, card: str, subject: str) -> ModelScore:
        champion = self.models[Alias.CHAMPION]
        served = champion
        challenger = self.models.get(Alias.CHALLENGER)
        if challenger is not None and canary_bucket(card) < self.canary_share:
            served = challenger
        try:
            score = served.predict_features(features)
        except Exception as error:
            if served is champion:
                raise
            MODEL_ERRORS.labels(served.name, served.version).inc()
            self.errors.append(
                ServingError(
                    subject, Alias.CHALLENGER, served.name, served.version, repr(error), time.time()
                )
            )
            served = champion
            score = served.predict_features(features)
        served.scored.inc()
        key = (served.name, served.version)
        self.traffic[key] = self.traffic.get(key, 0) + 1
        rounded = round(score, 6)  # what the decision stores, and shadows compare with
        explain = score >= self.explain_above
        contributions = served.contributions(served.vector(features)) if explain else []
        if Alias.SHADOW in self.models:
            self.shadow_queue.append(ShadowWork(subject, dict(features), rounded, time.time()))
        return ModelScore(rounded, served.name, served.version, contributions)

    def score_shadow(self, work: ShadowWork) -> tuple[ServedModel, float] | None:
        """Score queued work with the shadow model (off the hot path)."""
        shadow = self.models.get(Alias.SHADOW)
        if shadow is None:
            return None
        return shadow, shadow.predict(shadow.vector(work.features))
