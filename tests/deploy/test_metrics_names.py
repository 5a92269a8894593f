"""Every dashboard and alert query reads series the app really exports: the app runs in
process, makes decisions, and its /metrics is scraped and compared with the queries."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from riskops.auth.roles import Role
from riskops.core.outcome import Outcome
from riskops.ml.registry import Alias
from tests.conftest import Api
from tests.deploy.promql import label_matchers, queries, recording_rules, series_names
from tests.payments import new_key, payment

DECISIONS = 3
# Label values the queries may compare with, from the enums that produce them.
KNOWN_VALUES = {"status": {o.value for o in Outcome}, "alias": {a.value for a in Alias}}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


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
    assert missing == []


@pytest.mark.parametrize("name", ["riskops_model_scores_total", "riskops_model_psi"])
async def test_model_series_are_declared_without_a_model(api: Api, name: str) -> None:
    # Their samples need a served model: tests/ml/test_api.py checks those values.
    names, _ = exported(await scrape(api))
    assert name in names
