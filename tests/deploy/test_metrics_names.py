"""Every dashboard and alert query reads series the app really exports: the app makes
decisions, its /metrics is scraped and compared with the queries. Once in process (one
process runs everything), and once as production runs it: `riskops serve --api-only` and
`riskops worker` as real processes, each scraped on its own port, the union compared."""

import contextlib
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from riskops.auth.roles import Role
from riskops.core.outcome import Outcome
from riskops.ml.registry import Alias
from tests.conftest import Api
from tests.deploy.promql import label_matchers, queries, recording_rules, series_names
from tests.payments import new_key, payment
from tests.processes.support import (
    create_key,
    environment,
    eventually,
    free_port,
    healthy,
    post_payment,
    stop,
)

DECISIONS = 3
# Label values the queries may compare with, from the enums that produce them.
KNOWN_VALUES = {"status": {o.value for o in Outcome}, "alias": {a.value for a in Alias}}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
STARTUP = 120.0  # a busy 2-core machine imports the app slowly


def exported(text: str) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Series name -> label names seen, for every declared family; sample -> value."""
    names: dict[str, set[str]] = {}
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
            key = sample.name + "".join(f",{k}={v}" for k, v in sorted(sample.labels.items()))
            values[key] = sample.value
    return names, values


async def scrape(api: Api) -> str:
    response = await api.client.get("/metrics", headers=api.as_role(Role.VIEWER))
    assert response.status_code == 200
    return response.text


def test_the_extraction_finds_names_and_only_names() -> None:
    expr = (
        'sum by (le) (rate(riskops_a_bucket{status="decline"}[5m])) / clamp_min(sum('
        "rate(riskops_b_total[10m])), 1e-9) > 0.5 unless on (x) riskops:rule:p99 and up"
    )
    assert series_names(expr) == {"riskops_a_bucket", "riskops_b_total", "riskops:rule:p99", "up"}
    assert label_matchers(expr) == [("riskops_a_bucket", "status", "decline")]


async def test_every_query_names_an_exported_series(api: Api) -> None:
    _, before = exported(await scrape(api))
    for i in range(DECISIONS):
        response = await api.client.post(
            "/v1/transactions",
            json=payment(account_id=f"acct-metrics-{i}"),
            headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
        )
        assert response.status_code in {200, 201}, response.text
    # The event gauges (consumer lag, dead letters) are set when the event status is read.
    status = await api.client.get("/v1/admin/events", headers=api.as_role(Role.ADMIN))
    assert status.status_code == 200
    names, after = exported(await scrape(api))

    def grew(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    # The decision series count each new decision (they feed the decisions dashboard and
    # the latency and model-not-loaded alerts).
    outcomes = sum(grew(f"riskops_decisions_total,status={o.value}") for o in Outcome)
    assert outcomes == DECISIONS
    assert grew("riskops_decision_latency_seconds_count") == DECISIONS
    assert grew("riskops_decision_score_count,source=rules") == DECISIONS
    assert names["riskops_consumer_lag"] >= {"consumer", "topic"}
    assert names["riskops_dlq_waiting"] >= {"topic"}
    assert unexported(names) == []


def unexported(names: dict[str, set[str]]) -> list[str]:
    """What the queries read that `names` (series -> label names) lacks."""
    missing = []
    for where, expr in queries():
        for name in series_names(expr):
            if name not in names and name not in recording_rules():
                missing.append(f"{where}: {name}")
        for series, label, value in label_matchers(expr):
            if names.get(series) and label not in names[series]:
                missing.append(f"{where}: {series} has no label {label}")
            if label in KNOWN_VALUES and value not in KNOWN_VALUES[label]:
                missing.append(f"{where}: {label}={value} is never exported")
    return missing


def lag_of(consumer: str, values: dict[str, float]) -> list[str]:
    return [k for k in values if k.startswith(f"riskops_consumer_lag,consumer={consumer},")]


def get_metrics(port: int, key: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def spawn(args: list[str], env: dict[str, str], data_dir: Path) -> "subprocess.Popen[bytes]":
    with (data_dir / f"{args[0]}.log").open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "riskops", *args],
            env=env, cwd=data_dir, stdout=sink, stderr=sink, start_new_session=True,
        )  # fmt: skip


def test_the_api_and_the_worker_together_export_every_queried_series(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    api_port, worker_port = free_port(), free_port()
    env = environment(tmp_path) | {
        "RISKOPS_WORKER_METRICS_PORT": str(worker_port),
        "RISKOPS_CASE_METRICS_INTERVAL": "0.5",
    }
    processes = [spawn(["serve", "--api-only", "--port", str(api_port)], env, tmp_path)]
    try:
        eventually(lambda: healthy(api_port), STARTUP, "the API answering")
        processes.append(spawn(["worker"], env, tmp_path))  # the schema is migrated by now
        for i in range(DECISIONS):
            post_payment(api_port, key, f"metrics-{i}")

        def worker_scrape() -> dict[str, float] | None:
            with contextlib.suppress(OSError):
                _, values = exported(get_metrics(worker_port, key))
                # Its first case-queue count, and its consumers' lag (refreshed every 15 s).
                if values.get("riskops_cases_sla_seconds") and lag_of("cases", values):
                    return values
            return None

        eventually(worker_scrape, STARTUP, "the worker's /metrics with its own series")
        api_names, api_values = exported(get_metrics(api_port, key))
        worker_names, worker_values = exported(get_metrics(worker_port, key))
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                stop(process, signal.SIGTERM)
    # Each process exports what it does: the API decides, the worker counts the queue.
    decided = [f"riskops_decisions_total,status={o.value}" for o in Outcome]
    assert sum(api_values.get(key, 0) for key in decided) == DECISIONS
    assert not any(worker_values.get(key) for key in decided)
    assert worker_values["riskops_cases_sla_seconds"] > 0
    assert api_values["riskops_cases_sla_seconds"] == 0
    # The worker's consumers (cases, analytics) are seen only in its own scrape.
    assert lag_of("cases", worker_values) and not lag_of("cases", api_values)
    union = {
        name: api_names.get(name, set()) | worker_names.get(name, set())
        for name in api_names.keys() | worker_names.keys()
    }
    assert unexported(union) == []


@pytest.mark.parametrize("name", ["riskops_model_scores_total", "riskops_model_psi"])
async def test_model_series_are_declared_without_a_model(api: Api, name: str) -> None:
    # Their samples need a served model: tests/ml/test_api.py checks those values.
    names, _ = exported(await scrape(api))
    assert name in names
