"""Read service over models and records for every caller that is not the JSON router itself
(the console): the registry's served models with their feature schema, records, one record.
"""

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound
from riskops.ml import records, repository
from riskops.ml.registry import ModelRegistry
from riskops.ml.repository import RecordFilter
from riskops.ml.serving import ModelServer

__all__ = ["RecordFilter", "get_record", "list_records", "list_records_page", "served_models"]


async def served_models(
    registry: ModelRegistry, server: ModelServer, default_name: str
) -> list[dict[str, Any]]:
    """Every model version that holds an alias, with its metrics and typed feature schema."""
    listed = []
    for name in await asyncio.to_thread(registry.model_names):
        for version in await asyncio.to_thread(registry.versions, name):
            if not version.aliases:
                continue
            try:
                served = await records.resolve(
                    f"{name}:{version.version}", server, registry, default_name
                )
            except NotFound:
                continue  # its files are gone: nothing could score with it either
            listed.append(
                {
                    "name": name,
                    "version": version.version,
                    "aliases": list(version.aliases),
                    "metrics": version.metrics,
                    "features": records.feature_fields(records.schema_of(served)),
                }
            )
    return listed


async def list_records_page(
    connection: AsyncConnection, where: RecordFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await repository.list_records_page(connection, where, limit, cursor)


async def list_records(
    connection: AsyncConnection, where: RecordFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    return await repository.list_records(connection, where, limit, offset)


async def get_record(connection: AsyncConnection, record_id: str) -> dict[str, Any]:
    """A prediction record, or a transaction's decision seen as a record."""
    found = await repository.get_prediction(connection, record_id)
    if found is not None:
        return {**found, "kind": "prediction"}
    decision = await repository.get_decision_record(connection, record_id)
    if decision is None:
        raise NotFound(f"record {record_id} does not exist", {"record_id": record_id})
    return {
        **decision,
        "id": decision["transaction_id"],
        "kind": "decision",
        "label": decision["status"],
    }
