"""Per-stage CPU profile of one decision, in process, on the embedded default (SQLite).

    python benchmarks/stages.py [--payments 2000] [--train 20000]

Builds the real runtime (migrated SQLite in a temp folder, the shipped ruleset, the memory
feature store), trains a champion-like LightGBM model on the synthetic generator in process
(what the first start of `make run` does), warms the store and database with synthetic
history, then walks fresh payments of the same realistic card mix through the pipeline's
steps one by one, timing each stage. Every other payment goes through
`DecisionPipeline.submit` whole instead ("submit end-to-end"), so what the stages leave out
(batching, awaits, futures) shows as the difference between that row and the stages' sum.

Synchronous stages are timed with perf_counter (vDSO, ~50 ns a call); the ones that await
the database with process_time, so the aiosqlite thread's CPU counts and waiting on the disk
does not. `make bench` includes this table through `profile()`.
"""

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import lightgbm as lgb
import orjson
from rich.console import Console
from rich.table import Table

from riskops.auth.roles import Role
from riskops.auth.service import Principal
from riskops.core.ids import new_id
from riskops.db.migrate import upgrade
from riskops.decisions.assessment import TOP_EXPLANATIONS, Assessment
from riskops.decisions.lookup import LookupKey
from riskops.decisions.policy import Outcome, Thresholds, decide
from riskops.decisions.records import decision_record
from riskops.decisions.requests import MAX_EVENT_AGE, TransactionCreate
from riskops.decisions.scoring import Contribution, ScoreSource
from riskops.features import compute_features
from riskops.ml.registry import Alias, LoadedModel
from riskops.ml.service import train_synthetic
from riskops.ml.serving import ModelServer
from riskops.ml.training import TrainedModel
from riskops.rules import transaction_variables
from riskops.runtime import Runtime, build_runtime
from riskops.settings import Settings
from riskops.simulation.generator import Simulator

# The stages of one decision, in path order; their sum is "total (stages)".
STAGES = (
    "validate",
    "idempotency hash",
    "idempotency lookup",
    "tokenise",
    "features",
    "rules",
    "model",
    "explanations",
    "policy",
    "rows + events",
    "write + commit",
    "response bytes",
)
IDS = "  of which ids"  # inside "rows + events" (and tokenise's transaction id): not summed
TOTAL = "total (stages)"
END_TO_END = "submit end-to-end"
PRINCIPAL = Principal("bench-key", "stages benchmark", Role.SERVICE)
SECRET = "stages-benchmark-card-token-secret-0123456789"


def _settings(folder: Path) -> Settings:
    return Settings(
        data_dir=folder,
        database_url=f"sqlite+aiosqlite:///{folder / 'riskops.db'}",
        card_token_secret=SECRET,  # type: ignore[arg-type]
        bootstrap_admin_key=False,
        model_serving=False,  # the model is installed below, trained in this process
        run_workers=False,  # the API process's own work only (h-worker moves the rest out)
        _env_file=None,  # type: ignore[call-arg]
    )


def _bodies(count: int, seed: int = 99) -> Iterator[tuple[str, bytes]]:
    """(idempotency key, request body) of synthetic payments over the last 14 days, in order."""
    span = timedelta(days=14)
    simulator = Simulator(
        seed, datetime.now(UTC) - span, count / span.total_seconds(), users=max(count // 20, 10)
    )
    for simulated in islice(simulator, count):
        request = simulated.request
        body = request.model_dump(mode="json", exclude_none=True)
        body["card_number"] = request.card_number.get_secret_value()
        yield simulated.event_id, orjson.dumps(body)


def _champion(train: int, cache: Path | None) -> tuple[lgb.Booster, list[str]]:
    """A model as the first start trains it; cached in `cache` (A/B runs train once)."""
    if cache is not None and cache.exists():
        booster = lgb.Booster(model_file=str(cache))
        return booster, list(booster.feature_name())
    model: TrainedModel = train_synthetic(train)
    if cache is not None:
        model.booster.save_model(str(cache))
    return model.booster, list(model.features)


def _served(model: tuple[lgb.Booster, list[str]], explain_above: float) -> ModelServer:
    server = ModelServer(canary_share=0.0, explain_above=explain_above)
    server.install(Alias.CHAMPION, LoadedModel("fraud", "1", *model))
    return server


def _push(contribution: Contribution) -> float:
    return -abs(contribution.contribution)


class _Clock:
    """Laps of one payment's stages, in microseconds."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._mark = time.perf_counter_ns()

    def lap(self, stage: str) -> None:
        now = time.perf_counter_ns()
        self.laps[stage] = (now - self._mark) / 1000
        self._mark = now

    def restart(self) -> None:
        self._mark = time.perf_counter_ns()


async def _staged(
    runtime: Runtime, scorer: ModelServer, key: str, body: bytes, context: dict[str, Any]
) -> dict[str, float]:
    """One payment through the pipeline's steps (as `DecisionPipeline._submit` runs them)."""
    pipeline, thresholds = runtime.pipeline, runtime.settings
    clock = _Clock()
    started = time.perf_counter()
    request = TransactionCreate.model_validate_json(body, context=context)
    clock.lap("validate")
    request_hash = pipeline._request_hash(request)
    clock.lap("idempotency hash")
    cpu = time.process_time_ns()
    # `submit`, as the pipeline calls it: on SQLite a read in this thread, else a batch of one.
    found = await runtime.lookup.submit(LookupKey(request.account_id, key))
    assert found.stored is None
    opens = pipeline._claim_currency(request.account_id, request.currency, found.currency)
    clock.laps["idempotency lookup"] = (time.process_time_ns() - cpu) / 1000
    clock.restart()
    now = datetime.now(UTC)
    payment = pipeline._payment(request, now)
    clock.lap("tokenise")
    features = await compute_features(runtime.store, payment)  # the memory store never waits
    clock.lap("features")
    evaluation = pipeline.rules.evaluate({**features, **transaction_variables(payment)})
    clock.lap("rules")
    scored = scorer.score(features, card=payment.card_token, subject=payment.transaction_id)
    clock.lap("model")
    explanations: list[Contribution] = []
    if scored.score >= thresholds.review_threshold:
        champion = scorer.models[Alias.CHAMPION]
        contributions = champion.contributions(champion.vector(features))
        explanations = sorted(contributions, key=_push)[:TOP_EXPLANATIONS]
        clock.lap("explanations")
    else:
        clock.restart()
    outcome, basis = decide(
        [hit.action for hit in evaluation.hits],
        scored.score,
        Thresholds(thresholds.review_threshold, thresholds.decline_threshold),
    )
    assessment = Assessment(
        features=features,
        hits=evaluation.hits,
        errors=evaluation.errors,
        ruleset_version=evaluation.ruleset_version,
        score=scored.score,
        score_source=ScoreSource.MODEL,
        model_name=scored.model_name,
        model_version=scored.model_version,
        explanations=explanations,
        outcome=outcome,
        basis=basis,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    clock.lap("policy")
    record = decision_record(
        payment,
        assessment,
        now=now,
        idempotency_key=key,
        request_hash=request_hash,
        submitted_by=PRINCIPAL.key_id,
        opens_account=opens,
    )
    clock.lap("rows + events")
    cpu = time.process_time_ns()
    stored = (await runtime.writer.run([record.rows]))[0]
    assert stored is True, stored
    clock.laps["write + commit"] = (time.process_time_ns() - cpu) / 1000
    clock.restart()
    orjson.dumps(record.document)
    clock.lap("response bytes")
    # The ids this decision made: transaction, audit, two events, a ledger entry if approved.
    ids = 5 if outcome is Outcome.APPROVE else 4
    clock.restart()
    for _ in range(ids):
        new_id()
    clock.lap(IDS)
    return clock.laps


async def _end_to_end(runtime: Runtime, key: str, body: bytes, context: dict[str, Any]) -> float:
    """CPU of validate + `DecisionPipeline.submit` + response bytes, in microseconds."""
    cpu = time.process_time_ns()
    request = TransactionCreate.model_validate_json(body, context=context)
    result = await runtime.pipeline.submit(request, key, PRINCIPAL)
    orjson.dumps(result.document)
    return (time.process_time_ns() - cpu) / 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _profile(n: int, warm: int, train: int, cache: Path | None) -> list[dict[str, Any]]:
    model = _champion(train, cache)
    with tempfile.TemporaryDirectory(prefix="riskops-stages-") as folder:
        settings = _settings(Path(folder))
        runtime = await build_runtime(settings)
        try:
            await upgrade(runtime.engine)
            # What the API process serves with: explanations at and above the review threshold.
            runtime.pipeline.use_scorer(_served(model, settings.review_threshold))
            staged_scorer = _served(model, explain_above=2.0)  # explanations timed on their own
            context = {MAX_EVENT_AGE: settings.max_event_age}
            bodies = _bodies(warm + 2 * n)
            for key, body in islice(bodies, warm):
                await _end_to_end(runtime, key, body, context)
            gc.collect()
            gc.freeze()  # as Runtime.start does once everything long-lived is built
            samples: dict[str, list[float]] = defaultdict(list)
            for index, (key, body) in enumerate(bodies):
                if index % 2:
                    samples[END_TO_END].append(await _end_to_end(runtime, key, body, context))
                    continue
                laps = await _staged(runtime, staged_scorer, key, body, context)
                for stage, us in laps.items():
                    samples[stage].append(us)
                samples[TOTAL].append(sum(laps[s] for s in STAGES if s in laps))
        finally:
            await runtime.close()
            gc.unfreeze()
    rows = []
    for stage in (*STAGES, IDS, TOTAL, END_TO_END):
        values = samples.get(stage, [])
        rows.append(
            {
                "stage": stage,
                "us_median": round(_percentile(values, 0.5), 1) if values else 0.0,
                "us_p99": round(_percentile(values, 0.99), 1) if values else 0.0,
                "share": round(len(values) / n, 3),  # of payments that ran the stage
            }
        )
    return rows


def profile(
    n: int = 2000, *, warm: int = 2000, train: int = 20_000, model_cache: Path | None = None
) -> list[dict[str, Any]]:
    """Rows {stage, us_median, us_p99, share} of n staged (and n end-to-end) decisions.

    Runs its own event loop: call it from synchronous code (the `make bench` harness does).
    """
    return asyncio.run(_profile(n, warm, train, model_cache))


def render(rows: list[dict[str, Any]]) -> Table:
    table = Table("stage (one decision, in process)", "us median", "us p99", "share")
    for row in rows:
        table.add_row(
            row["stage"], f"{row['us_median']:.1f}", f"{row['us_p99']:.1f}", f"{row['share']:.2f}"
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000, help="staged decisions timed")
    parser.add_argument("--warm", type=int, default=2000, help="history submitted first")
    parser.add_argument("--train", type=int, default=20_000, help="synthetic training payments")
    parser.add_argument(
        "--model-cache", type=Path, help="load the model from this file, or train and save it"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead")
    args = parser.parse_args()
    rows = profile(args.payments, warm=args.warm, train=args.train, model_cache=args.model_cache)
    if args.json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
    else:
        Console().print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
