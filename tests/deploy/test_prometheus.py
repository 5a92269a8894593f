"""Alert rules and Prometheus' configuration through promtool; Grafana's files by shape."""

import json
from pathlib import Path

import yaml

from tests.deploy.promql import ALERTS, DASHBOARDS, OBSERVABILITY
from tests.deploy.tools import DEPLOY, run, tool

PROMETHEUS = OBSERVABILITY / "prometheus"
GRAFANA = OBSERVABILITY / "grafana"


def test_promtool_checks_the_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_each_alert_fires_when_it_should_and_not_otherwise() -> None:
    result = run([tool("promtool"), "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    alerts = {
        r["alert"]
        for g in yaml.safe_load(ALERTS.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == fired


def test_promtool_checks_the_compose_configuration(tmp_path: Path) -> None:
    # The container paths of the rules and the scrape key, pointed at real files here.
    key = tmp_path / "metrics_key"
    key.write_text("a-viewer-key\n")
    text = (PROMETHEUS / "prometheus.yml").read_text()
    text = text.replace("/etc/prometheus/alerts.yml", str(ALERTS))
    text = text.replace("/run/secrets/metrics_key", str(key))
    config = tmp_path / "prometheus.yml"
    config.write_text(text)
    result = run([tool("promtool"), "check", "config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chart_ships_the_same_rules() -> None:
    copy = DEPLOY / "helm" / "riskops" / "files" / "alerts.yml"
    assert copy.read_text() == ALERTS.read_text(), "cp deploy/observability/prometheus/alerts.yml"


def test_dashboards_use_the_provisioned_datasource_and_are_well_formed() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert {p.stem for p in DASHBOARDS} == {"decisions", "models", "events", "cases"}
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == uid, (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid
                assert target["expr"].strip()
    assert len(uids) == len(DASHBOARDS)


def test_the_latency_panel_draws_the_alerts_slo() -> None:
    board = json.loads((GRAFANA / "dashboards" / "decisions.json").read_text())
    (panel,) = [p for p in board["panels"] if "SLO" in p["title"]]
    line = panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"]
    rule = next(
        r
        for g in yaml.safe_load(ALERTS.read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "RiskOpsDecisionLatencyOverSLO"
    )
    assert rule["expr"].endswith(f"> {line}")
