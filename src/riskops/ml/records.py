"""Scoring API logic: resolve a model id, validate a feature payload, score, keep the record."""

import asyncio
import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound, Unavailable, Unprocessable
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.features import FEATURE_DESCRIPTIONS
from riskops.ml import repository
from riskops.ml.registry import Alias, LoadedModel, ModelRegistry
from riskops.ml.serving import ModelServer, ServedModel

_cache: dict[tuple[str, str], ServedModel] = {}  # versions are immutable: safe to keep


class InvalidFeatures(Unprocessable):
    code = "invalid_features"


async def resolve(
    model_id: str, server: ModelServer, registry: ModelRegistry | None, default_name: str
) -> ServedModel:
    """`name`, `name@alias` or `name:version` to a loaded model, served ones first."""
    name, alias, version = model_id, Alias.CHAMPION.value, None
    if "@" in model_id:
        name, alias = model_id.split("@", 1)
    elif ":" in model_id:
        name, version = model_id.split(":", 1)
    if version is None:
        try:
            wanted = Alias(alias)
        except ValueError:
            raise NotFound(
                f"unknown alias {alias!r}; use champion, challenger or shadow",
                {"model_id": model_id},
            ) from None
        served = server.models.get(wanted)
        if name == default_name and served is not None:
            return served
    if registry is None:
        raise Unavailable("the model registry is still starting; retry in a few seconds")
    if version is None:
        version = await asyncio.to_thread(registry.alias_version, name, Alias(alias))
        if version is None:
            raise NotFound(f"model {model_id!r} does not exist", {"model_id": model_id})
    cached = _cache.get((name, version))
    if cached is not None:
        return cached
    loaded = await asyncio.to_thread(_load, registry, name, version, model_id)
    _cache[(name, version)] = served = ServedModel(loaded)
    return served


def _load(registry: ModelRegistry, name: str, version: str, model_id: str) -> LoadedModel:
    from mlflow.exceptions import MlflowException

    try:
        return registry.load(name, version)
    except MlflowException:
        raise NotFound(f"model {model_id!r} does not exist", {"model_id": model_id}) from None


def validate_features(model: ServedModel, features: dict[str, Any]) -> dict[str, float]:
    """Exactly the model's features, each a finite number; every problem listed at once."""
    missing = [n for n in model.features if n not in features]
    unknown = sorted(set(features) - set(model.features))
    wrong = [
        n
        for n in model.features
        if n in features
        and (
            isinstance(features[n], bool)
            or not isinstance(features[n], int | float)
            or not math.isfinite(features[n])
        )
    ]
    if missing or unknown or wrong:
        raise InvalidFeatures(
            f"the features do not match model {model.name} v{model.version}",
            {"missing": missing, "unknown": unknown, "not_numeric": wrong},
        )
    return {n: float(features[n]) for n in model.features}


async def predict(
    connection: AsyncConnection,
    model: ServedModel,
    features: dict[str, Any],
    threshold: float,
    principal_id: str,
) -> dict[str, Any]:
    clean = validate_features(model, features)
    row = model.vector(clean)
    score = round(model.predict(row), 6)
    explanations = [
        {
            "feature": c.feature,
            "value": c.value,
            "contribution": c.contribution,
            "description": FEATURE_DESCRIPTIONS.get(c.feature, c.feature),
        }
        for c in sorted(model.contributions(row), key=lambda c: -abs(c.contribution))[:5]
    ]
    record = {
        "id": new_id(),
        "model_name": model.name,
        "model_version": model.version,
        "features": clean,
        "score": score,
        "label": "fraud" if score >= threshold else "legit",
        "explanations": explanations,
        "created_by": principal_id,
        "created_at": utcnow(),
    }
    await repository.insert_prediction(connection, record)
    return record


def feature_fields(names: list[str]) -> list[dict[str, str]]:
    return [
        {"name": n, "type": "number", "description": FEATURE_DESCRIPTIONS.get(n, n)} for n in names
    ]
