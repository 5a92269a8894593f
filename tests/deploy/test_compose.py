"""The Compose files: `docker-compose config` parses and resolves them (no daemon needed), and
every RiskOps service gets known settings, all the production ones, and starts in production."""

import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.settings_check import load, missing_required, unknown
from tests.deploy.tools import DEPLOY, run, tool

COMPOSE = DEPLOY / "compose"
FILES = {"full": COMPOSE / "docker-compose.yml", "minimal": COMPOSE / "docker-compose.minimal.yml"}
# Services running the RiskOps image in each file.
RISKOPS_SERVICES = {"full": {"migrate", "api", "worker"}, "minimal": {"api"}}


def secrets_env(tmp_path: Path) -> Path:
    """A filled-in .env: every name .env.example leaves empty gets a long value."""
    lines = []
    for line in (COMPOSE / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            lines.append(f"{name}={value or 'v' * 8 + name.lower().replace('_', '-') * 2}")
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


def config(tmp_path: Path, which: str, env_file: Path | None = None) -> dict:
    result = run(
        [
            tool("docker-compose"),
            "--env-file",
            str(env_file or secrets_env(tmp_path)),
            "-f",
            str(FILES[which]),
            "config",
        ],
        cwd=COMPOSE,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("which", FILES)
def test_compose_config_resolves(tmp_path: Path, which: str) -> None:
    resolved = config(tmp_path, which)
    assert RISKOPS_SERVICES[which] <= set(resolved["services"])
    assert "postgres" in resolved["services"]
    assert resolved["services"]["postgres"]["image"].startswith("pgvector/pgvector:")


def test_the_full_stack_has_every_component(tmp_path: Path) -> None:
    services = config(tmp_path, "full")["services"]
    expected = {"api", "worker", "postgres", "redis", "redpanda", "redpanda-console", "minio"}
    assert expected | {"mlflow", "prometheus", "grafana"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"] == ["riskops", "worker"]
    assert services["redpanda-console"]["profiles"] == ["console"]
    # Prometheus loads the alert rules and Grafana the dashboards of deploy/observability.
    mounts = " ".join(str(v) for v in services["prometheus"]["volumes"])
    assert "observability/prometheus/alerts.yml" in mounts
    mounts = " ".join(str(v) for v in services["grafana"]["volumes"])
    assert "observability/grafana/dashboards" in mounts


@pytest.mark.parametrize("which", FILES)
def test_a_missing_secret_stops_compose(tmp_path: Path, which: str) -> None:
    env = secrets_env(tmp_path)
    env.write_text(re.sub(r"(?m)^RISKOPS_CARD_TOKEN_SECRET=.*$", "", env.read_text()))
    result = run(
        [tool("docker-compose"), "--env-file", str(env), "-f", str(FILES[which]), "config"],
        cwd=COMPOSE,
    )
    assert result.returncode != 0
    assert "RISKOPS_CARD_TOKEN_SECRET" in result.stderr


def test_env_example_names_every_variable_and_fills_no_secret() -> None:
    example = (COMPOSE / ".env.example").read_text()
    named = dict(
        line.split("=", 1) for line in example.splitlines() if "=" in line and line[0] != "#"
    )
    used = set()
    for path in FILES.values():
        used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", path.read_text()))
    assert used <= set(named), f"not in .env.example: {sorted(used - set(named))}"
    secrets = {n for n in named if re.search("PASSWORD|SECRET", n)}
    assert secrets, "the secrets are named"
    assert {n: named[n] for n in secrets if named[n]} == {}


@pytest.mark.parametrize("which", FILES)
def test_riskops_services_pass_known_and_required_settings(
    tmp_path: Path, which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = config(tmp_path, which)["services"]
    for name in sorted(RISKOPS_SERVICES[which]):
        env = {k: str(v) for k, v in services[name]["environment"].items()}
        assert unknown(env) == [], name
        assert missing_required(env) == [], name
        # The resolved environment is accepted by production's checks.
        settings = load(env, monkeypatch)
        assert settings.environment == "production"
        assert not settings.is_sqlite
        if which == "full":
            assert settings.feature_store == "redis"
            assert settings.bus == "kafka"
    if which == "full":
        assert services["api"]["environment"]["RISKOPS_RUN_WORKERS"] == "false"


def test_prometheus_scrapes_the_worker_where_it_serves_its_metrics(tmp_path: Path) -> None:
    worker = config(tmp_path, "full")["services"]["worker"]
    env = worker["environment"]
    assert env["RISKOPS_WORKER_METRICS_HOST"] == "0.0.0.0"
    port = int(env["RISKOPS_WORKER_METRICS_PORT"])
    assert f"127.0.0.1:{port}/health" in " ".join(worker["healthcheck"]["test"])
    prometheus = yaml.safe_load((DEPLOY / "observability/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    (target,) = jobs["riskops-worker"]["dns_sd_configs"]
    assert target["names"] == ["worker"] and target["port"] == port
    # The same viewer key as the API's scrape.
    assert jobs["riskops-worker"]["authorization"] == jobs["riskops-api"]["authorization"]
