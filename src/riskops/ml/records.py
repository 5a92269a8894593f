"""Scoring API logic: resolve a model id, validate a feature payload, score, keep the record."""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound, Unavailable
from riskops.core.ids import new_id
from riskops.db.types import utcnow
from riskops.features import FEATURE_DESCRIPTIONS
from riskops.ml import repository
from riskops.ml.feature_schema import FeatureSchema, numeric_schema
from riskops.ml.registry import Alias, LoadedModel, ModelRegistry
from riskops.ml.serving import ModelServer, ServedModel

# Which version an alias names, per model, for a few seconds: an alias move (a promotion) is
# seen within ALIAS_TTL_SECONDS, as the served model's reload sees it. A name the registry did
# not know is never remembered, so the first version of a new model serves at once.
ALIAS_TTL_SECONDS = 2.0


@dataclass
class _Known:
    """What one registry told us: loaded versions (immutable, kept) and recent alias answers."""

    models: dict[tuple[str, str], ServedModel] = field(default_factory=dict)
    aliases: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)


# Per registry object: two registries (two data folders) never share a cached "claims v1".
_known: "WeakKeyDictionary[Any, _Known]" = WeakKeyDictionary()
_schemas: "WeakKeyDictionary[ServedModel, FeatureSchema]" = WeakKeyDictionary()


def _known_of(registry: ModelRegistry) -> _Known:
    known = _known.get(registry)
    if known is None:
        known = _known[registry] = _Known()
    return known


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
        version = await _alias_version(registry, name, Alias(alias))
        if version is None:
            raise NotFound(f"model {model_id!r} does not exist", {"model_id": model_id})
    known = _known_of(registry)
    cached = known.models.get((name, version))
    if cached is not None:
        return cached
    loaded = await asyncio.to_thread(_load, registry, name, version, model_id)
    known.models[(name, version)] = served = ServedModel(loaded)
    return served


async def _alias_version(registry: ModelRegistry, name: str, alias: Alias) -> str | None:
    now = time.monotonic()
    aliases = _known_of(registry).aliases
    remembered = aliases.get((name, alias.value))
    if remembered is not None and remembered[1] > now:
        return remembered[0]
    version = await asyncio.to_thread(registry.alias_version, name, alias)
    if version is not None:
        aliases[(name, alias.value)] = (version, now + ALIAS_TTL_SECONDS)
    return version


def _load(registry: ModelRegistry, name: str, version: str, model_id: str) -> LoadedModel:
    from mlflow.exceptions import MlflowException

    try:
        return registry.load(name, version)
    except MlflowException:
        raise NotFound(f"model {model_id!r} does not exist", {"model_id": model_id}) from None


def schema_of(model: ServedModel) -> FeatureSchema:
    """The version's typed schema; a version without one takes every feature as a number."""
    schema = _schemas.get(model)
    if schema is None:
        schema = model.model.schema or numeric_schema(
            model.features, FEATURE_DESCRIPTIONS, model.model.typical
        )
        _schemas[model] = schema
    return schema


def validate_features(model: ServedModel, features: dict[str, Any]) -> dict[str, float]:
    """Exactly the model's features, each of its type; every problem listed at once (422)."""
    return schema_of(model).validate(features, f"{model.name} v{model.version}")


async def predict(
    connection: AsyncConnection,
    model: ServedModel,
    features: dict[str, Any],
    threshold: float,
    principal_id: str,
) -> dict[str, Any]:
    schema = schema_of(model)
    clean = validate_features(model, features)
    row = model.vector(clean)
    score = round(model.predict(row), 6)
    typed = model.model.schema is not None
    # A typed model's record keeps the values as sent (a category is text, not its code).
    kept: dict[str, Any] = {n: features[n] for n in schema.names} if typed else clean
    explanations = [
        {
            "feature": c.feature,
            "value": kept[c.feature] if typed else c.value,
            "contribution": c.contribution,
            "description": _description(schema, c.feature),
        }
        for c in sorted(model.contributions(row), key=lambda c: -abs(c.contribution))[:5]
    ]
    record = {
        "id": new_id(),
        "model_name": model.name,
        "model_version": model.version,
        "features": kept,
        "score": score,
        "label": "fraud" if score >= threshold else "legit",
        "explanations": explanations,
        "created_by": principal_id,
        "created_at": utcnow(),
    }
    await repository.insert_prediction(connection, record)
    return record


def _description(schema: FeatureSchema, name: str) -> str:
    found = schema.get(name)
    return (found.description if found else "") or FEATURE_DESCRIPTIONS.get(name, name)


def feature_fields(schema: FeatureSchema) -> list[dict[str, Any]]:
    """The schema as /v1/metadata and the console show it (descriptions never empty)."""
    return [{**f.to_json(), "description": _description(schema, f.name)} for f in schema.fields]
