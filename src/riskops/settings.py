"""One typed settings class: every backend, secret and threshold, read from RISKOPS_* or .env.

Durations are `timedelta`: an ISO 8601 duration (`PT30S`, `PT24H`, `P7D`) or a number of seconds.
"""

import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never reach production: the development defaults and obvious fillers.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
SECRETS_FILE = "secrets.env"


def _seconds_or_iso(value: object) -> object:
    # Environment values arrive as text; "30" or "0.5" mean seconds, anything else is ISO 8601.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


# A duration: an ISO 8601 duration (PT30S, PT24H, P7D) or a number of seconds.
Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RISKOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".riskops")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default is a SQLite file in the data folder. "
        "Production: postgresql+asyncpg://user:pass@host/db",
    )
    feature_store: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "riskops:f:"
    # How long after a payment its fraud label is known. Merchant fraud-rate features read
    # labels of payments at least this old (younger payments would look genuine only because
    # nobody reported yet), and `riskops backfill` stores each label this long after its payment.
    label_delay: Duration = Field(default=timedelta(days=7), gt=timedelta(0), le=timedelta(days=60))

    # Review cases (src/riskops/cases/): a review payment of a card joins the card's open case
    # opened within this window instead of opening another; each case is due within the SLA.
    case_join_window: Duration = Field(default=timedelta(hours=24), ge=timedelta(0))
    case_sla: Duration = Field(default=timedelta(hours=4), gt=timedelta(0))
    case_metrics_interval: Duration = Field(
        default=timedelta(seconds=15),
        gt=timedelta(0),
        description="How often the worker counts the case queue for its gauges",
    )

    # HMAC key that turns a card number into a stable token; the raw number is never kept.
    card_token_secret: SecretStr = SecretStr("")
    # Signs the web console's session cookie; generated into the data folder in development.
    session_secret: SecretStr = SecretStr("")
    session_max_age: Duration = Field(default=timedelta(hours=12), ge=timedelta(minutes=1))

    ruleset_path: Path | None = Field(default=None, description="TOML ruleset; default: shipped")
    review_threshold: float = Field(default=0.5, ge=0, le=1)
    decline_threshold: float = Field(default=0.85, ge=0, le=1)

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_event_age: timedelta = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="POST /v1/transactions refuses older event times; history: riskops backfill",
    )
    page_size_max: int = Field(default=500, ge=1)
    # Group commit: decisions of concurrent requests share one database transaction.
    commit_batch_max: int = Field(default=256, ge=1)
    api_key_cache: Duration = Field(default=timedelta(seconds=30), ge=timedelta(0))
    # Every process re-reads the count of revoked keys this often and drops its key cache when
    # it grew: a key revoked elsewhere stops working within this period (the revoking process
    # drops it at once).
    api_key_revocation_check: Duration = Field(
        default=timedelta(seconds=1), gt=timedelta(0), le=timedelta(seconds=60)
    )
    # Every process re-reads the lists' change counter this often: a list change (made by any
    # process) applies to decisions within this period plus one reload.
    lists_poll_interval: Duration = Field(
        default=timedelta(seconds=1), gt=timedelta(0), le=timedelta(seconds=60)
    )
    # Failed authentication (a bad API key, a refused console sign-in): this many from one
    # client within the window locks that client out (429 with Retry-After) for the lockout.
    auth_failures_max: int = Field(default=10, ge=1)
    auth_failure_window: Duration = Field(default=timedelta(minutes=5), gt=timedelta(0))
    auth_lockout: Duration = Field(default=timedelta(minutes=5), gt=timedelta(0))

    # OIDC bearer tokens (src/riskops/auth/tokens.py): off unless a public key or a JWKS URL
    # is set; then issuer and audience are required and checked on every token.
    jwt_issuer: str | None = Field(default=None, description="The `iss` tokens must carry")
    jwt_audience: str | None = Field(default=None, description="The `aud` tokens must name")
    jwt_public_key: str | None = Field(default=None, description="The issuer's PEM public key")
    jwt_jwks_url: str | None = Field(default=None, description="The issuer's JWKS document")
    jwt_role_claim: str = Field(
        default="roles",
        pattern=r"^[A-Za-z0-9_:/.-]+$",
        description="Claim holding the role(s), a string or a list; dots walk nested objects",
    )
    jwt_algorithms: list[Literal["RS256", "ES256"]] = Field(
        default=["RS256", "ES256"], min_length=1
    )
    jwt_leeway: Duration = Field(
        default=timedelta(seconds=30), ge=timedelta(0), le=timedelta(minutes=5)
    )
    jwt_jwks_cache: Duration = Field(
        default=timedelta(minutes=10), gt=timedelta(0), description="How long fetched keys live"
    )

    # Rate limits per principal and process (a token bucket each); a rate of 0 turns one off.
    # Several API processes each allow this much. Idempotent replays are never limited.
    rate_limit_transactions: float = Field(
        default=1000.0, ge=0, description="POST /v1/transactions per second and caller"
    )
    rate_limit_transactions_burst: int = Field(default=2000, ge=1)
    rate_limit_console: float = Field(
        default=50.0, ge=0, description="Console requests per second and signed-in user"
    )
    rate_limit_console_burst: int = Field(default=200, ge=1)

    auto_migrate: bool = Field(default=True, description="Upgrade the schema at start")
    bootstrap_admin_key: bool = Field(
        default=True, description="On first start with no keys, create and print an admin key"
    )

    tracing: bool = Field(
        default=False,
        description="OpenTelemetry spans per request, decision stage and event, exported by "
        "OTLP as the standard OTEL_* variables say; off costs nothing",
    )
    host: str = "127.0.0.1"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line, for a log shipper"
    )
    port: int = 8000
    # `riskops worker` has no API: it serves its own /metrics (the relay's, consumers', drift
    # and case-queue series) on this port for Prometheus; 0: none. Same API-key check as the
    # API's /metrics. Containers bind 0.0.0.0; a host install keeps 127.0.0.1.
    worker_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="The worker's /metrics port; 0: not served"
    )
    worker_metrics_host: str = Field(default="127.0.0.1", description="Address it binds")

    # Events: the bus, the outbox relay and the consumers (see src/riskops/events/).
    bus: Literal["embedded", "kafka"] = Field(
        default="embedded", description="embedded: a log table in the database; kafka: a broker"
    )
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=6, ge=1, description="For topics RiskOps creates")
    kafka_replication: int = Field(default=1, ge=1)
    kafka_session_timeout: Duration = Field(default=timedelta(seconds=10), ge=timedelta(seconds=1))
    kafka_publish_timeout: Duration = Field(
        default=timedelta(seconds=30),
        gt=timedelta(0),
        description="Unacknowledged by then: the rows stay in the outbox",
    )
    run_workers: bool = Field(
        default=True,
        description="Run background work beside the API: `riskops serve` supervises a worker "
        "process (relay, consumers, model jobs); the API process keeps the consumers that feed "
        "its in-memory features. false: the API runs none (`riskops worker` runs apart)",
    )
    consumers: list[str] = Field(
        default=["risk", "labels", "analytics", "cases"],
        description="Consumers run beside the API",
    )
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll: Duration = Field(
        default=timedelta(seconds=1), gt=timedelta(0), description="Fallback when not woken"
    )
    outbox_retention: Duration = Field(
        default=timedelta(hours=24), gt=timedelta(0), description="Sent rows kept"
    )
    event_log_retention: Duration = Field(
        default=timedelta(days=7), gt=timedelta(0), description="Embedded log kept"
    )
    consumer_batch_max: int = Field(default=500, ge=1)
    consumer_max_attempts: int = Field(default=5, ge=1, description="Then the message is a DLQ")
    consumer_retry_base: Duration = Field(default=timedelta(seconds=0.2), ge=timedelta(0))
    consumer_retry_max: Duration = Field(default=timedelta(seconds=10), ge=timedelta(0))

    # Models (see src/riskops/ml/): registry, serving, drift and retraining.
    model_name: str = Field(default="fraud", description="Registered model the API serves")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="Tracking + registry store; default: SQLite in the data folder"
    )
    model_serving: bool = Field(
        default=True, description="Load and hot-reload the registry's models in the API"
    )
    model_bootstrap: bool = Field(
        default=True, description="Train a first champion on synthetic history if none exists"
    )
    model_bootstrap_payments: int = Field(default=20_000, ge=1_000)
    canary_share: float = Field(default=0.1, ge=0, le=1, description="Challenger traffic share")
    model_reload: Duration = Field(
        default=timedelta(seconds=5), gt=timedelta(0), description="Alias polling period"
    )
    drift_interval: Duration = Field(default=timedelta(hours=1), gt=timedelta(0))
    drift_window: Duration = Field(default=timedelta(hours=24), gt=timedelta(0))
    retrain_interval: Duration = Field(default=timedelta(hours=1), gt=timedelta(0))
    retrain_enabled: bool = Field(default=True, description="Scheduled retraining in the worker")
    retrain_window: Duration = Field(default=timedelta(days=30), gt=timedelta(0))
    # The continuous investigation scan (src/riskops/recommendations/), in the worker process.
    recommendation_scan_enabled: bool = Field(
        default=True, description="Scan recent activity and fill the recommendation queue"
    )
    recommendation_scan_interval: Duration = Field(
        default=timedelta(minutes=1), gt=timedelta(0), description="Between two scans"
    )

    # Similar cases (see src/riskops/similarity/): an embedding per record, nearest neighbours.
    embeddings_enabled: bool = Field(
        default=True, description="Embed new records in the background (off: no new vectors)"
    )
    embedding: str = Field(
        default="features/1",
        pattern=r"^[a-z][a-z0-9_-]*/[A-Za-z0-9_.:-]+$",
        description="name/version of the embedding that is written and searched",
    )
    embedding_dim: int = Field(
        default=384, ge=8, le=2000, description="Vector dimension (the pgvector column's too)"
    )
    vector_index: Literal["embedded", "pgvector"] | None = Field(
        default=None, description="Nearest-neighbour engine; default: pgvector on PostgreSQL"
    )
    embedding_interval: Duration = Field(
        default=timedelta(seconds=2), gt=timedelta(0), description="Background embedding poll"
    )
    nearest_k_max: int = Field(default=100, ge=1, le=1000)

    # Investigations' narrator (src/riskops/investigations/chat.py): the deterministic template,
    # or "chat", any OpenAI-compatible chat completions endpoint, bounded by the token cap and
    # the timeout; text that does not cite the evidence is replaced by the template's.
    narrator: Literal["template", "chat"] = "template"
    narrator_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL of the chat API, e.g. https://api.openai.com/v1",
    )
    narrator_model: str | None = Field(default=None, description="Model name sent to the API")
    narrator_api_key: SecretStr = SecretStr("")
    narrator_max_tokens: int = Field(default=400, ge=16, le=4000)
    narrator_timeout: Duration = Field(
        default=timedelta(seconds=10), gt=timedelta(0), le=timedelta(seconds=120)
    )

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.review_threshold > self.decline_threshold:
            raise ValueError("review_threshold must not exceed decline_threshold")
        if self.jwt_public_key and self.jwt_jwks_url:
            raise ValueError("set RISKOPS_JWT_PUBLIC_KEY or RISKOPS_JWT_JWKS_URL, not both")
        if self.narrator == "chat" and not (self.narrator_url and self.narrator_model):
            raise ValueError("RISKOPS_NARRATOR=chat needs RISKOPS_NARRATOR_URL and _MODEL")
        if self.jwt_enabled and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                "bearer tokens need RISKOPS_JWT_ISSUER and RISKOPS_JWT_AUDIENCE to be checked"
            )
        if self.environment == "production":
            if self.card_token_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "RISKOPS_CARD_TOKEN_SECRET must be set to a real secret in production"
                )
            if len(self.card_token_secret.get_secret_value()) < 32:
                raise ValueError("RISKOPS_CARD_TOKEN_SECRET must be at least 32 characters")
            if self.session_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "RISKOPS_SESSION_SECRET must be set to a real secret in production"
                )
            if len(self.session_secret.get_secret_value()) < 32:
                raise ValueError("RISKOPS_SESSION_SECRET must be at least 32 characters")
            if self.database_url is None or self.database_url.startswith("sqlite"):
                raise ValueError("production needs RISKOPS_DATABASE_URL pointing at PostgreSQL")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'riskops.db'}"

    @property
    def session_max_age_seconds(self) -> int:
        """The session lifetime in whole seconds (what the cookie signer takes)."""
        return int(self.session_max_age.total_seconds())

    @property
    def jwt_enabled(self) -> bool:
        """Bearer tokens are accepted once the issuer's key (or where to fetch it) is known."""
        return bool(self.jwt_public_key or self.jwt_jwks_url)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def token_secret(self) -> bytes:
        """The card-token key; in development one is generated once into the data folder."""
        value = self.card_token_secret.get_secret_value()
        if value:
            return value.encode()
        return _development_secret(self.data_dir, "card_token_secret").encode()

    def session_key(self) -> str:
        """The console's cookie-signing key; in development one is generated once."""
        return self.session_secret.get_secret_value() or _development_secret(
            self.data_dir, "session_secret"
        )


def _development_secret(data_dir: Path, name: str) -> str:
    # Generated per installation so that no secret lives in code, and stable across restarts
    # so card tokens (and their velocity history) survive a restart.
    path = data_dir / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            stored[key.strip()] = value.strip()
    if name not in stored:
        data_dir.mkdir(parents=True, exist_ok=True)
        stored[name] = secrets.token_urlsafe(48)
        path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
        path.chmod(0o600)
    return stored[name]
