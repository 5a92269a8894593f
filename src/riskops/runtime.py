"""The one place that wires: settings become adapters, services, consumers and background work.

`build_runtime` builds everything (the app's lifespan and every command use it); `start()`
starts what the settings ask a process of its role to run (riskops.processes.placement says
which work goes where), `close()` stops it all.
"""

import asyncio
import contextlib
import gc
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops import contracts
from riskops.analytics.tasks import AnalyticsConsumer
from riskops.auth import service as key_service
from riskops.auth.rate_limits import TokenBuckets
from riskops.auth.roles import Role
from riskops.auth.service import KeyVerifier
from riskops.auth.throttle import AuthThrottle
from riskops.auth.tokens import TokenVerifier
from riskops.cases.metrics import count_label
from riskops.cases.queue_metrics import CaseQueueMetrics
from riskops.cases.service import CasePolicy
from riskops.cases.tasks import CasesConsumer
from riskops.core.background import finish
from riskops.db import transaction
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.decisions import service as decisions
from riskops.decisions.lookup import IdempotencyLookup
from riskops.decisions.pipeline import DecisionPipeline
from riskops.decisions.policy import Thresholds
from riskops.decisions.tasks import RiskConsumer
from riskops.decisions.writer import DecisionWriter
from riskops.events.bus import EventBus
from riskops.events.embedded import EmbeddedLog
from riskops.events.kafka import KafkaBus
from riskops.events.workers import ConsumerRegistry, ConsumerSpec, EventWorkers
from riskops.features import FEATURE_NAMES, OnlineStore, build_online_store
from riskops.features.labels import label_feeder
from riskops.investigations.chat import ChatEndpoint, ChatNarrator
from riskops.investigations.narrative import Narrator, TemplateNarrator
from riskops.jobs.runner import JobRunner
from riskops.labels.service import LabelService
from riskops.labels.tasks import LabelsConsumer
from riskops.ledger.service import BalanceService
from riskops.lists.tasks import ListPoller
from riskops.ml.registry import ModelRegistry
from riskops.ml.service import open_registry
from riskops.ml.serving import ModelServer
from riskops.ml.tasks import ModelTasks
from riskops.observability.metrics import watch_event_loop
from riskops.processes.placement import (
    ProcessRole,
    consumers_for,
    runs_model_jobs,
    runs_queue_metrics,
    runs_relay,
)
from riskops.recommendations.candidates import ScanPolicy
from riskops.recommendations.tasks import RecommendationScanner
from riskops.rules import (
    ListSource,
    RulesEngine,
    default_ruleset_path,
    load_ruleset,
    transaction_variable_names,
)
from riskops.rulesets.reload import RulesetWatcher
from riskops.settings import Settings
from riskops.similarity.embedders import split_embedding
from riskops.similarity.graph import HnswIndex
from riskops.similarity.index import EmbeddingId, VectorIndex
from riskops.similarity.models import TABLE_DIM
from riskops.similarity.pgvector import PgVectorIndex
from riskops.similarity.service import Similarity
from riskops.similarity.tasks import EmbeddingTasks

# Every consumer group a process can run (`riskops consume NAME`), by name.
CONSUMER_TOPICS: dict[str, tuple[str, ...]] = {
    c.name: c.topics for c in (RiskConsumer, LabelsConsumer, AnalyticsConsumer, CasesConsumer)
}
# SQLite has one writer at a time; PostgreSQL overlaps a few group commits.
WRITERS = {"sqlite": 1, "postgresql": 4}
# A relay in another process than the decision writer hears of commits by NOTIFY on
# PostgreSQL; on SQLite nothing can tell it, so it polls this often (a cheap indexed read in
# the worker process) to keep events flowing within a fraction of a second.
CROSS_PROCESS_POLL_SECONDS = 0.1


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    store: OnlineStore
    lookup: IdempotencyLookup
    writer: DecisionWriter
    pipeline: DecisionPipeline
    keys: KeyVerifier
    tokens: TokenVerifier | None  # OIDC bearer tokens; None unless an issuer is configured
    payment_limits: TokenBuckets  # POST /v1/transactions, per principal
    console_limits: TokenBuckets  # console requests, per signed-in principal
    bus: EventBus
    labels: LabelService
    consumers: ConsumerRegistry  # every consumer group, by name
    events: EventWorkers  # the relay and consumers; start() runs them when run_workers
    models: ModelServer  # champion / challenger / shadow; model_tasks keeps them current
    registry: ModelRegistry
    model_tasks: ModelTasks  # start() runs them when model_serving
    recommendations: RecommendationScanner  # the continuous scan: the worker's, when enabled
    balances: BalanceService
    lists: ListPoller  # keeps the lists rules read current (started with the process)
    jobs: JobRunner  # backtests and other background jobs, reported through the jobs table
    rulesets: RulesetWatcher  # follows the active ruleset version (hot reload)
    similarity: Similarity  # nearest records; the index adapter the settings chose
    embedding_tasks: EmbeddingTasks  # start() runs them with the workers when enabled
    case_metrics: CaseQueueMetrics  # the case-queue gauges; counted by the worker's share
    narrator: Narrator  # writes investigations' narratives; the settings chose the adapter
    role: ProcessRole = ProcessRole.ALL
    _monitor: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Migrate if asked, make the first admin key, start the background work."""
        settings = self.settings
        if settings.auto_migrate:
            await upgrade(self.engine)
        if settings.bootstrap_admin_key and self.role is not ProcessRole.WORKER:
            await first_admin_key(self.engine)
        # Decide with the stored lists from the first payment on; without a schema yet (the
        # database is migrated separately) the poller keeps trying every second.
        with contextlib.suppress(DBAPIError):
            await self.lists.refresh()
        self.lists.start()
        await self._follow_ruleset_versions()
        # run_workers: the API process runs its share; a worker process runs its share always.
        if settings.run_workers or self.role is ProcessRole.WORKER:
            self.events.start(relay=runs_relay(self.role))
            # Embedding records is background work: the worker's (or the only process's).
            if settings.embeddings_enabled and runs_model_jobs(self.role):
                self.embedding_tasks.start()
            # The scan is scheduled background work, like embedding: never on the API's loop.
            if settings.recommendation_scan_enabled and runs_model_jobs(self.role):
                self.recommendations.start()
            if runs_queue_metrics(self.role):
                self.case_metrics.start()
        # Models load (and a first champion trains) in the background: /health answers now.
        if settings.model_serving:
            self.model_tasks.start(jobs=runs_model_jobs(self.role))
        self._monitor = asyncio.create_task(watch_event_loop())
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight so full collections stay short on a busy loop.
        gc.collect()
        gc.freeze()

    async def _follow_ruleset_versions(self) -> None:
        """Decide with the database's active version and follow it (hot reload).

        An explicit RISKOPS_RULESET_PATH pins that file instead: nothing is read from the
        database and approvals do not change this process (for tests and emergencies).
        Without it, the shipped TOML decides only until the first read (it is version 1).
        """
        if self.settings.ruleset_path is not None:
            return
        await self.rulesets.refresh()
        self.rulesets.start()

    async def close(self) -> None:
        if self._monitor is not None:
            await finish([self._monitor], deadline=0)
        await self.rulesets.stop()
        await self.jobs.stop()
        await self.model_tasks.stop()
        await self.lists.stop()
        await self.embedding_tasks.stop()
        await self.recommendations.stop()
        await self.case_metrics.stop()
        await self.keys.stop()
        await self.events.stop()
        await self.writer.stop()
        await self.lookup.stop()
        await self.store.close()
        await self.bus.close()
        await self.engine.dispose()


def load_rules(settings: Settings, lists: ListSource | None = None) -> RulesEngine:
    known = [*FEATURE_NAMES, *transaction_variable_names()]
    ruleset = load_ruleset(settings.ruleset_path or default_ruleset_path(), known)
    return RulesEngine(ruleset, lists)


async def build_runtime(
    settings: Settings, engine: AsyncEngine | None = None, role: ProcessRole = ProcessRole.ALL
) -> Runtime:
    """Build every adapter the settings choose for a process of `role`. The writer is started;
    call close() to stop."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or create_engine(settings.resolved_database_url)
    # The embedded store keeps its windows across restarts in the data folder (written on a
    # clean shutdown); Redis keeps its own. A worker process never owns the memory store (the
    # API process does): it must neither load the API's snapshot nor overwrite it.
    owns_snapshot = role is not ProcessRole.WORKER
    store = build_online_store(
        settings.feature_store,
        settings.redis_url,
        settings.redis_key_prefix,
        snapshot_path=settings.data_dir / "features.json" if owns_snapshot else None,
        label_delay=settings.label_delay,
    )
    writer = DecisionWriter(
        engine, batch_max=settings.commit_batch_max, workers=WRITERS.get(engine.dialect.name, 1)
    )
    writer.start()
    lookup = IdempotencyLookup(engine, batch_max=settings.commit_batch_max)
    lookup.start()
    lists = ListPoller(engine, settings.lists_poll_interval.total_seconds())
    pipeline = DecisionPipeline(
        engine=engine,
        lookup=lookup,
        writer=writer,
        store=store,
        rules=load_rules(settings, lists.source),
        thresholds=Thresholds(review=settings.review_threshold, decline=settings.decline_threshold),
        token_secret=settings.token_secret(),
    )
    keys = KeyVerifier(
        engine,
        settings.api_key_cache.total_seconds(),
        AuthThrottle(
            settings.auth_failures_max, settings.auth_failure_window, settings.auth_lockout
        ),
        settings.api_key_revocation_check,
    )
    keys.start()
    bus = build_bus(settings, engine)
    labels = LabelService()
    labels.hooks.append(label_feeder(store))  # merchant fraud-rate windows learn from labels
    labels.hooks.append(count_label)  # the cases dashboard's labels arriving
    consumers = build_consumers(
        engine, pipeline, labels, CasePolicy(settings.case_join_window, settings.case_sla)
    )
    events = EventWorkers.from_settings(
        settings, engine, bus, consumers, contracts.validators(), consumers_for(role, settings)
    )
    writer.on_commit = events.relay.notify
    if role is ProcessRole.WORKER and engine.dialect.name != "postgresql":
        events.relay.poll_seconds = min(events.relay.poll_seconds, CROSS_PROCESS_POLL_SECONDS)
    models = build_model_server(settings, pipeline)
    registry = open_registry(settings)
    similarity = build_similarity(settings, engine)
    return Runtime(
        settings=settings,
        engine=engine,
        store=store,
        lookup=lookup,
        writer=writer,
        pipeline=pipeline,
        keys=keys,
        tokens=TokenVerifier(settings) if settings.jwt_enabled else None,
        payment_limits=TokenBuckets(
            "payments", settings.rate_limit_transactions, settings.rate_limit_transactions_burst
        ),
        console_limits=TokenBuckets(
            "console requests", settings.rate_limit_console, settings.rate_limit_console_burst
        ),
        bus=bus,
        labels=labels,
        consumers=consumers,
        events=events,
        models=models,
        registry=registry,
        model_tasks=ModelTasks(settings, engine, models, registry),
        recommendations=RecommendationScanner(
            engine,
            ScanPolicy(
                review_threshold=settings.review_threshold,
                decline_threshold=settings.decline_threshold,
            ),
            settings.recommendation_scan_interval.total_seconds(),
        ),
        balances=BalanceService(decisions.account_counts),
        role=role,
        lists=lists,
        jobs=JobRunner(engine),
        rulesets=RulesetWatcher(engine, pipeline.use_rules, lists.source),
        similarity=similarity,
        embedding_tasks=EmbeddingTasks(
            engine, similarity, settings.embedding_interval.total_seconds()
        ),
        case_metrics=CaseQueueMetrics(
            engine, settings.case_metrics_interval.total_seconds(), settings.case_sla
        ),
        narrator=build_narrator(settings),
    )


def build_narrator(settings: Settings) -> Narrator:
    """The template unless an OpenAI-compatible chat endpoint is configured."""
    if settings.narrator == "chat":
        return ChatNarrator(
            ChatEndpoint(
                settings.narrator_url or "",  # both checked by the settings when chat is chosen
                settings.narrator_model or "",
                settings.narrator_api_key,
                settings.narrator_max_tokens,
                settings.narrator_timeout.total_seconds(),
            )
        )
    return TemplateNarrator()


def build_similarity(settings: Settings, engine: AsyncEngine) -> Similarity:
    """pgvector on PostgreSQL unless told otherwise; the embedded index (exact, then HNSW by
    size) elsewhere."""
    if settings.embedding_dim != TABLE_DIM:
        raise ValueError(
            f"RISKOPS_EMBEDDING_DIM={settings.embedding_dim} but the embeddings table was "
            f"built for {TABLE_DIM}: set it in the environment of migrations and servers alike"
        )
    choice = settings.vector_index or (
        "pgvector" if engine.dialect.name == "postgresql" else "embedded"
    )
    if choice == "pgvector" and engine.dialect.name != "postgresql":
        raise ValueError("RISKOPS_VECTOR_INDEX=pgvector needs a PostgreSQL database")
    index: VectorIndex = (
        PgVectorIndex(engine)
        if choice == "pgvector"
        else HnswIndex(settings.data_dir / "vectors", settings.embedding_dim)
    )
    name, version = split_embedding(settings.embedding)
    return Similarity(
        index, EmbeddingId(name, version), settings.embedding_dim, settings.nearest_k_max
    )


def build_consumers(
    engine: AsyncEngine, pipeline: DecisionPipeline, labels: LabelService, cases: CasePolicy
) -> ConsumerRegistry:
    """Each domain's consumer group, built on demand (a process runs the ones it is given)."""
    return {
        RiskConsumer.name: ConsumerSpec(RiskConsumer.topics, lambda: RiskConsumer(pipeline)),
        LabelsConsumer.name: ConsumerSpec(
            LabelsConsumer.topics, lambda: LabelsConsumer(engine, labels)
        ),
        AnalyticsConsumer.name: ConsumerSpec(
            AnalyticsConsumer.topics, lambda: AnalyticsConsumer(engine)
        ),
        CasesConsumer.name: ConsumerSpec(
            CasesConsumer.topics, lambda: CasesConsumer(engine, cases)
        ),
    }


def build_model_server(settings: Settings, pipeline: DecisionPipeline) -> ModelServer:
    """In-process serving; the pipeline scores with it once a champion is loaded."""

    def attach(server: ModelServer) -> None:
        pipeline.use_scorer(server if server.champion is not None else None)

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


async def first_admin_key(engine: AsyncEngine) -> None:
    """On a database without keys, create an admin key and print it once."""
    async with transaction(engine) as connection:
        if await key_service.count_keys(connection):
            return
        created = await key_service.create_key(connection, Role.ADMIN, "first admin")
    # Printed once, on purpose: only its hash is stored.
    print(
        "\n  RiskOps created the first admin API key (shown once, store it now):\n\n"
        f"    {created.plaintext}\n\n"
        "  Use it as `Authorization: Bearer <key>`; more keys: `riskops keys create --role ROLE`\n",
        flush=True,
    )
