"""Serving: the canary is sticky per card and takes its share; a failing challenger falls back."""

import lightgbm as lgb
import numpy as np
import pytest

from riskops.ml.registry import Alias, LoadedModel
from riskops.ml.serving import ModelServer, canary_bucket
from riskops.ml.training import TrainedModel


def loaded(model: TrainedModel, version: str) -> LoadedModel:
    return LoadedModel("fraud", version, model.booster, model.features, model.references)


def server_with(small: TrainedModel, other: TrainedModel, share: float) -> ModelServer:
    server = ModelServer(canary_share=share, explain_above=0.5)
    server.install(Alias.CHAMPION, loaded(small, "1"))
    server.install(Alias.CHALLENGER, loaded(other, "2"))
    return server


def test_canary_is_sticky_per_card_and_takes_its_share(
    small_model: TrainedModel, other_model: TrainedModel
) -> None:
    server = server_with(small_model, other_model, 0.2)
    cards = [f"card-{i}" for i in range(5_000)]
    first = {c: server.score({}, card=c, subject="t").model_version for c in cards}
    again = {c: server.score({}, card=c, subject="t").model_version for c in cards}
    assert first == again  # the same card always meets the same model
    share = sum(v == "2" for v in first.values()) / len(cards)
    assert share == pytest.approx(0.2, abs=0.02)
    assert server.traffic[("fraud", "2")] == 2 * sum(v == "2" for v in first.values())


def test_no_challenger_or_zero_share_means_champion_only(
    small_model: TrainedModel, other_model: TrainedModel
) -> None:
    server = server_with(small_model, other_model, 0.0)
    versions = {server.score({}, card=f"c{i}", subject="t").model_version for i in range(500)}
    assert versions == {"1"}
    assert 0.0 <= canary_bucket("anything") < 1.0


def test_a_model_whose_feature_list_does_not_match_is_refused(
    small_model: TrainedModel,
) -> None:
    server = ModelServer(canary_share=1.0, explain_above=0.5)
    server.install(Alias.CHAMPION, loaded(small_model, "1"))
    narrow = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1, "min_data_in_leaf": 1},
        lgb.Dataset(np.random.default_rng(0).random((50, 3)), np.arange(50) % 2),
        num_boost_round=2,
    )
    broken = LoadedModel("fraud", "2", narrow, small_model.features)
    with pytest.raises(ValueError, match="trained on 3 features"):
        server.install(Alias.CHALLENGER, broken)
    # Nothing changed: every card still meets the champion.
    assert server.score({}, card="card-1", subject="txn-1").model_version == "1"
    assert server.installed(Alias.CHALLENGER) is None


def test_explanations_only_at_or_above_the_review_threshold(small_model: TrainedModel) -> None:
    server = ModelServer(canary_share=0.0, explain_above=0.0)
    server.install(Alias.CHAMPION, loaded(small_model, "1"))
    explained = server.score({"card_count_1h": 1}, card="c", subject="t")
    assert explained.contributions
    assert {c.feature for c in explained.contributions} <= set(small_model.features)
    server.explain_above = 1.01
    assert server.score({"card_count_1h": 1}, card="c", subject="t").contributions == []


def test_shadow_work_is_queued_not_scored_inline(
    small_model: TrainedModel, other_model: TrainedModel
) -> None:
    server = ModelServer(canary_share=0.0, explain_above=1.0)
    server.install(Alias.CHAMPION, loaded(small_model, "1"))
    server.score({}, card="c", subject="before")
    assert not server.shadow_queue
    server.install(Alias.SHADOW, loaded(other_model, "3"))
    decided = server.score({}, card="c", subject="t-9")
    assert decided.model_version == "1"
    (work,) = server.shadow_queue
    assert work.transaction_id == "t-9"
    scored = server.score_shadow(work)
    assert scored is not None
    model, score = scored
    assert model.version == "3"
    assert 0.0 <= score <= 1.0


def test_the_fast_path_scores_exactly_like_booster_predict(small_model: TrainedModel) -> None:
    from riskops.ml.serving import ServedModel

    served = ServedModel(loaded(small_model, "1"))
    rng = np.random.default_rng(4)
    for _ in range(200):
        features = {
            n: float(v)
            for n, v in zip(served.features, rng.random(len(served.features)) * 10, strict=True)
        }
        del features[served.features[int(rng.integers(len(served.features)))]]  # one missing
        row = served.vector(features)
        assert np.isnan(row).sum() == 1
        expected = small_model.booster.predict(row)[0]
        assert served.predict(row) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert served.predict_features(features) == served.predict(row)


def test_fast_contributions_equal_booster_pred_contrib_exactly(small_model: TrainedModel) -> None:
    """Explanations through the prepared C API are the very values `pred_contrib` gives: every
    reason a decision shows is unchanged, to the last bit."""
    from riskops.decisions.scoring import Contribution
    from riskops.ml.serving import ServedModel

    served = ServedModel(loaded(small_model, "1"))
    rng = np.random.default_rng(5)
    for _ in range(300):
        values = rng.random(len(served.features)) * rng.choice([1.0, 10.0, 1_000.0])
        features = {n: float(v) for n, v in zip(served.features, values, strict=True)}
        for gone in rng.choice(len(served.features), int(rng.integers(0, 20)), replace=False):
            del features[served.features[int(gone)]]  # missing ones become NaN
        row = served.vector(features)
        booster = small_model.booster.predict(row, pred_contrib=True, num_threads=1)[0]
        assert served._explainer.contributions(row).tolist() == booster.tolist()
        expected = [
            Contribution(name, float(row[0, i]), round(float(booster[i]), 6))
            for i, name in enumerate(served.features)
            if not np.isnan(row[0, i]) or booster[i] != 0.0
        ]
        as_text = lambda found: [repr(c) for c in found]  # noqa: E731 - NaN equals NaN as text
        assert as_text(served.contributions(row)) == as_text(expected)
