"""The one place where settings become adapters: database, online store, rules, writer, pipeline."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.auth.service import KeyVerifier
from riskops.db.engine import create_engine
from riskops.decisions.lookup import IdempotencyLookup
from riskops.decisions.pipeline import DecisionPipeline
from riskops.decisions.policy import Thresholds
from riskops.decisions.writer import DecisionWriter
from riskops.events.bus import EventBus
from riskops.events.embedded import EmbeddedLog
from riskops.events.kafka import KafkaBus
from riskops.events.workers import EventWorkers
from riskops.features import FEATURE_NAMES, OnlineStore, build_online_store
from riskops.features.labels import label_feeder
from riskops.labels.service import LabelService
from riskops.ml.serving import ModelServer
from riskops.rules import (
    RulesEngine,
    default_ruleset_path,
    load_ruleset,
    transaction_variable_names,
)
from riskops.settings import Settings

# SQLite has one writer at a time; PostgreSQL overlaps a few group commits.
WRITERS = {"sqlite": 1, "postgresql": 4}


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    store: OnlineStore
    lookup: IdempotencyLookup
    writer: DecisionWriter
    pipeline: DecisionPipeline
    keys: KeyVerifier
    bus: EventBus
    labels: LabelService
    events: EventWorkers  # the relay and consumers; app.py starts them when run_workers
    models: ModelServer  # champion / challenger / shadow; ml.tasks keeps them current

    async def close(self) -> None:
        await self.events.stop()
        await self.writer.stop()
        await self.lookup.stop()
        await self.store.close()
        await self.bus.close()
        await self.engine.dispose()


def load_rules(settings: Settings) -> RulesEngine:
    known = [*FEATURE_NAMES, *transaction_variable_names()]
    return RulesEngine(load_ruleset(settings.ruleset_path or default_ruleset_path(), known))


async def build_runtime(settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
    """Build every adapter the settings choose. The writer is started; call close() to stop."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or create_engine(settings.resolved_database_url)
    # The embedded store keeps its windows across restarts in the data folder (written on a
    # clean shutdown); Redis keeps its own.
    store = build_online_store(
        settings.feature_store,
        settings.redis_url,
        settings.redis_key_prefix,
        snapshot_path=settings.data_dir / "features.json",
        label_delay=settings.label_delay,
    )
    writer = DecisionWriter(
        engine, batch_max=settings.commit_batch_max, workers=WRITERS.get(engine.dialect.name, 1)
    )
    writer.start()
    lookup = IdempotencyLookup(engine, batch_max=settings.commit_batch_max)
    lookup.start()
    pipeline = DecisionPipeline(
        engine=engine,
        lookup=lookup,
        writer=writer,
        store=store,
        rules=load_rules(settings),
        thresholds=Thresholds(review=settings.review_threshold, decline=settings.decline_threshold),
        token_secret=settings.token_secret(),
    )
    keys = KeyVerifier(engine, settings.api_key_cache.total_seconds())
    bus = build_bus(settings, engine)
    labels = LabelService()
    labels.hooks.append(label_feeder(store))  # merchant fraud-rate windows learn from labels
    events = EventWorkers.from_settings(settings, engine, bus, pipeline, labels)
    writer.on_commit = events.relay.notify
    models = build_model_server(settings, pipeline)
    return Runtime(
        settings, engine, store, lookup, writer, pipeline, keys, bus, labels, events, models
    )


def build_model_server(settings: Settings, pipeline: DecisionPipeline) -> ModelServer:
    """In-process serving; the pipeline scores with it once a champion is loaded."""

    def attach(server: ModelServer) -> None:
        pipeline.scorer = server if server.champion is not None else None

    return ModelServer(
        canary_share=settings.canary_share,
        explain_above=settings.review_threshold,
        on_change=attach,
    )


def build_bus(settings: Settings, engine: AsyncEngine) -> EventBus:
    """The embedded log in our own database, or a Kafka-protocol broker."""
    if settings.bus == "kafka":
        return KafkaBus(
            settings.kafka_bootstrap,
            partitions=settings.kafka_partitions,
            replication=settings.kafka_replication,
            session_timeout_ms=int(settings.kafka_session_timeout.total_seconds() * 1000),
            publish_timeout=settings.kafka_publish_timeout.total_seconds(),
        )
    return EmbeddedLog(engine)
