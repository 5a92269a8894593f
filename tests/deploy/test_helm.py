"""The Helm chart, rendered by Helm's own engine (Go SDK), validated against the Kubernetes
OpenAPI schemas (kubernetes-validate, strict: unknown fields fail), linted, and checked for
references between its objects and for the settings it passes."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from riskops.api.health import router as health_router
from tests.deploy.promql import ALERTS
from tests.deploy.render import CHART, K8S, documents, plain_manifests, render
from tests.deploy.settings_check import missing_required, unknown
from tests.deploy.tools import module

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion, HPA v2, PDB v1, CronJob
# v1 are all there) and the newest schemas kubernetes-validate ships.
KUBERNETES = ("1.25.0", "1.37.0")
# The other shape: a fixed number of API replicas instead of the autoscaler.
FIXED = {"api": {"autoscaling": {"enabled": False}}}


def helm() -> Any:
    return module("helm_python")


def validate() -> Any:
    return module("kubernetes_validate")


@pytest.fixture(scope="module", params=["defaults", "fixed-replicas"])
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    helm()
    return documents(render(FIXED if request.param == "fixed-replicas" else None))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"].endswith(suffix)]
    return found


def test_helm_lint_passes_strictly() -> None:
    report = helm().lint(CHART, strict=True, kube_version="v1.30.0")
    errors = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    # Strict lint reports only the missing chart icon (severity info) here.
    assert errors == []


def test_every_core_object_validates_against_the_kubernetes_schemas(
    objects: list[dict[str, Any]],
) -> None:
    kv = validate()
    checked = 0
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRDs: no schema offline (see test_operator_objects_reference_the_api)
        for version in KUBERNETES:
            kv.validate(obj, version, strict=True)
        checked += 1
    assert checked >= 10


def test_the_validator_rejects_a_misspelled_field(objects: list[dict[str, Any]]) -> None:
    kv = validate()
    broken = copy.deepcopy(named(objects, "Deployment", "-api"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBERNETES[-1], strict=True)


def test_the_expected_objects_are_there(objects: list[dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in objects}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "ConfigMap",
        "CronJob",
        "Job",
        "ServiceMonitor",
        "PrometheusRule",
        "NetworkPolicy",
        "ServiceAccount",
    } <= kinds
    assert len(by_kind(objects, "Deployment")) == 2  # the API and the worker
    worker = named(objects, "Deployment", "-worker")
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == ["riskops", "worker"]

    def command(name: str) -> list[str]:
        job = named(objects, "CronJob", name)
        return job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]

    assert "riskops train --from-parquet s3://riskops-offline/facts" in command("-retrain")[-1]
    assert command("-export")[:3] == ["riskops", "export", "--to"]


def test_the_api_probes_hit_routes_the_app_has(objects: list[dict[str, Any]]) -> None:
    routes = {route.path for route in health_router.routes}  # type: ignore[attr-defined]
    (container,) = named(objects, "Deployment", "-api")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")} <= routes
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == container["ports"][0]["name"]
    assert container["resources"]["requests"]["cpu"]


def test_selectors_match_the_api_pods(objects: list[dict[str, Any]]) -> None:
    api = named(objects, "Deployment", "-api")
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    for deployment in by_kind(objects, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert named(objects, "Service", "-api")["spec"]["selector"].items() <= pod_labels.items()
    pdb = named(objects, "PodDisruptionBudget", "-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for hpa in by_kind(objects, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    ingress = named(objects, "NetworkPolicy", "-api-ingress")
    assert ingress["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()


def test_operator_objects_reference_the_api(objects: list[dict[str, Any]]) -> None:
    service = named(objects, "Service", "-api")
    monitor = named(objects, "ServiceMonitor", "-api")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"]["key"]
    (rule,) = by_kind(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        template = spec.get("template", {}).get("spec", {})
        found += [(obj["metadata"]["name"], c) for c in template.get("containers", [])]
    return found


def test_every_container_gets_known_and_required_settings(objects: list[dict[str, Any]]) -> None:
    (config_map,) = by_kind(objects, "ConfigMap")
    assert unknown(config_map["data"]) == []
    found = containers(objects)
    assert len(found) >= 4
    for name, container in found:
        names = {e["name"] for e in container.get("env", [])}
        if any(s.get("configMapRef") for s in container.get("envFrom", [])):
            names |= set(config_map["data"])
        assert unknown(names) == [], name
        assert missing_required(names) == [], name


def test_the_plain_manifests_are_the_current_rendering() -> None:
    helm()
    for name, text in plain_manifests().items():
        path: Path = K8S / name
        assert path.exists() and path.read_text() == text, f"{path} is stale: run `make k8s`"


def test_prometheus_scrapes_the_workers_own_metrics_port(objects: list[dict[str, Any]]) -> None:
    worker = named(objects, "Deployment", "-worker")
    pod_labels = worker["spec"]["template"]["metadata"]["labels"]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert port["name"] == "metrics"
    assert env["RISKOPS_WORKER_METRICS_PORT"] == str(port["containerPort"])
    assert env["RISKOPS_WORKER_METRICS_HOST"] == "0.0.0.0"  # reachable from outside the pod
    service = named(objects, "Service", "-worker")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]
    monitor = named(objects, "ServiceMonitor", "-worker")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert not selector.items() <= named(objects, "Service", "-api")["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert (
        endpoint["authorization"]
        == named(objects, "ServiceMonitor", "-api")["spec"]["endpoints"][0]["authorization"]
    )  # one viewer key for both
    policy = named(objects, "NetworkPolicy", "-worker-metrics")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert [p["port"] for p in policy["spec"]["ingress"][0]["ports"]] == ["metrics"]


def test_a_worker_without_a_metrics_port_gets_no_scrape_objects() -> None:
    helm()
    objects = documents(render({"worker": {"metrics": {"port": 0}}}))
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert not [n for n in names if n[1].endswith(("-worker", "-worker-metrics"))
                and n[0] != "Deployment"]  # fmt: skip
    (container,) = named(objects, "Deployment", "-worker")["spec"]["template"]["spec"]["containers"]
    assert "ports" not in container
    assert {"name": "RISKOPS_WORKER_METRICS_PORT", "value": "0"} in container["env"]
