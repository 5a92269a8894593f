"""Registry round trip on a temporary SQLite store: register, alias, load, promote, roll back."""

import numpy as np
import pytest

from riskops.ml.registry import Alias, ModelRegistry
from riskops.ml.training import TrainedModel


def test_round_trip(
    registry: ModelRegistry, small_model: TrainedModel, other_model: TrainedModel
) -> None:
    first = registry.register("fraud", small_model)
    second = registry.register("fraud", other_model)
    assert (first.version, second.version) == ("1", "2")
    assert second.features == small_model.features
    assert second.metrics["auc"] == pytest.approx(other_model.metrics["auc"])

    registry.set_alias("fraud", Alias.CHAMPION, "1")
    registry.set_alias("fraud", Alias.CHALLENGER, "2")
    assert registry.alias_version("fraud", Alias.CHAMPION) == "1"
    assert registry.alias_version("fraud", Alias.SHADOW) is None

    loaded = registry.load("fraud", "1")
    matrix = np.zeros((3, len(loaded.features)))
    expected = small_model.booster.predict(matrix)
    assert np.allclose(loaded.booster.predict(matrix), expected)
    assert loaded.references.keys() == small_model.references.keys()

    # Promote 2: the old champion is remembered, so one rollback restores it.
    registry.set_alias("fraud", Alias.CHAMPION, "2")
    assert registry.champion_history("fraud") == ["1"]
    assert [v.aliases for v in registry.versions("fraud")] == [(), ("challenger", "champion")]
    assert registry.rollback("fraud") == ("2", "1")
    assert registry.alias_version("fraud", Alias.CHAMPION) == "1"
    with pytest.raises(LookupError, match="no previous champion"):
        registry.rollback("fraud")


def test_unknown_versions_and_models(registry: ModelRegistry, small_model: TrainedModel) -> None:
    from mlflow.exceptions import MlflowException

    assert registry.versions("nothing") == []
    assert registry.alias_version("nothing", Alias.CHAMPION) is None
    registry.register("fraud", small_model)
    with pytest.raises(MlflowException):
        registry.set_alias("fraud", Alias.CHAMPION, "9")
    assert registry.alias_version("fraud", Alias.CHAMPION) is None
