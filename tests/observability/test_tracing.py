"""One trace spans API -> outbox -> relay -> consumer, seen by the in-memory exporter."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.db.base import table_of
from riskops.events.models import EventLogEntry
from riskops.observability import tracing
from tests.conftest import create_keys, make_settings
from tests.payments import new_key, payment

event_log = table_of(EventLogEntry)


@pytest.fixture
async def traced(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter, object, dict[Role, str]]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(make_settings(tmp_path, None))
    tracing.configure(app, provider)
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            keys = await create_keys(runtime.engine)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client, exporter, runtime, keys
    finally:
        tracing.disable()
        provider.shutdown()


async def test_one_trace_spans_request_stages_relay_and_consumers(traced: tuple) -> None:  # type: ignore[type-arg]
    client, exporter, runtime, keys = traced
    response = await client.post(
        "/v1/transactions",
        json=payment(),
        headers={"Authorization": f"Bearer {keys[Role.SERVICE]}", "Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    await runtime.events.drain()

    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind.name == "SERVER" and "/v1/transactions" in s.name)
    trace_id = server.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    names = {s.name for s in in_trace}
    assert {
        "decision.idempotency_lookup",
        "decision.features",
        "decision.assess",
        "decision.write",
    } <= names
    assert "riskops.relay.publish" in names
    consumed = {s.name for s in in_trace if s.name.startswith("riskops.consume ")}
    assert {"riskops.consume analytics", "riskops.consume cases"} <= consumed, names
    # The relay's publish is a child of a span of the request, each consumer's of the same.
    by_id = {s.context.span_id: s for s in in_trace}
    publish = next(s for s in in_trace if s.name == "riskops.relay.publish")
    assert publish.parent is not None and publish.parent.span_id in by_id
    # The message on the bus carries the traceparent as a header too.
    async with runtime.engine.connect() as connection:
        headers = (await connection.execute(select(event_log.c.headers))).scalars().all()
    assert all(h["traceparent"].split("-")[1] == f"{trace_id:032x}" for h in headers)


async def test_off_no_traceparent_is_written(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, None))
    assert not tracing.enabled()
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await client.post(
                "/v1/transactions",
                json=payment(),
                headers={
                    "Authorization": f"Bearer {keys[Role.SERVICE]}",
                    "Idempotency-Key": new_key(),
                },
            )
            assert response.status_code == 201
            await runtime.events.drain()
        async with runtime.engine.connect() as connection:
            headers = (await connection.execute(select(event_log.c.headers))).scalars().all()
    assert headers and not any("traceparent" in h for h in headers)
