"""OpenTelemetry tracing, off by default: a span per request, per decision stage, per event
published by the relay and per event a consumer handles, joined by the W3C `traceparent` the
decision writes into its outbox events (a CloudEvents attribute, copied to message headers).

Off, every hook here is one module-global check (no OpenTelemetry object is touched); on, the
OTLP exporter reads the standard `OTEL_*` variables (endpoint, headers, service name).
"""

import contextlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

_tracer: "Tracer | None" = None  # None: tracing is off


def enabled() -> bool:
    return _tracer is not None


def configure(app: "FastAPI", provider: "TracerProvider | None" = None) -> "TracerProvider":
    """Trace this process: requests of `app` and the hooks below, into `provider` (default: an
    OTLP exporter configured by `OTEL_*`). Imported only when on: off costs nothing."""
    global _tracer
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    if provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "riskops"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="health,ready,metrics"
    )
    _tracer = provider.get_tracer("riskops")
    return provider


def disable() -> None:
    """Stop tracing the hooks (a test's provider is shut down by the test)."""
    global _tracer
    _tracer = None


_NO_SPAN = contextlib.nullcontext()  # reusable: entering it does nothing


def stage(name: str) -> AbstractContextManager[object]:
    """A span around one stage of a decision, child of the request's span (off: a shared
    no-op, no allocation)."""
    if _tracer is None:
        return _NO_SPAN
    return _tracer.start_as_current_span(name)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for an outbox event; None when off."""
    if _tracer is None:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def start_spans(name: str, traceparents: Sequence[str | None], **attributes: Any) -> list["Span"]:
    """One span per event, each a child of the span that wrote it (the caller ends them)."""
    if _tracer is None:
        return []
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    spans = []
    for traceparent in traceparents:
        parent = propagator.extract({"traceparent": traceparent}) if traceparent else None
        spans.append(_tracer.start_span(name, context=parent, attributes=attributes))
    return spans


def end_spans(spans: Sequence["Span"]) -> None:
    for span in spans:
        span.end()
