"""The product embedding puts fraud next to fraud: on the synthetic generator's labelled
history (featurised by the production definitions), a fraud's nearest earlier records are
far more often fraud than the base rate. The handbook figure is benchmarks/similarity_fdh.py."""

import numpy as np

from riskops.features import FEATURE_NAMES
from riskops.ml.synthetic import featurise, synthetic_payments
from riskops.similarity.embedders import FeatureEmbedder, fit_feature_params

K = 10


def test_fraud_neighbours_are_far_above_the_base_rate() -> None:
    history = featurise(synthetic_payments(6_000, seed=11))
    split = len(history) * 2 // 3  # queries: frauds of the last third; candidates: earlier
    earlier, later = history.iloc[:split], history.iloc[split:]
    rows = earlier[list(FEATURE_NAMES)].to_dict("records")
    embedder = FeatureEmbedder.from_params(
        "1", 384, fit_feature_params(FEATURE_NAMES, rows[:: max(1, len(rows) // 2_000)])
    )
    candidates = embedder.embed_many(rows)
    fraud = earlier["label"].to_numpy(bool)
    queries = later[later["label"] == 1][list(FEATURE_NAMES)].to_dict("records")
    assert len(queries) >= 20 and fraud.sum() >= 20  # the generator makes enough fraud
    similarity = embedder.embed_many(queries) @ candidates.T
    nearest = np.argpartition(-similarity, K - 1, axis=1)[:, :K]
    share = float(fraud[nearest].mean())
    base = float(fraud.mean())
    assert share >= 5 * base, (share, base)
