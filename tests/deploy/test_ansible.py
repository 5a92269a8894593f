"""The Ansible playbook: syntax check, ansible-lint (production profile), and the settings
its units get."""

import re

import yaml

from tests.deploy.settings_check import missing_required, unknown
from tests.deploy.tools import DEPLOY, run, tool

ANSIBLE = DEPLOY / "ansible"
ROLE = ANSIBLE / "roles" / "riskops"
# Ansible refuses a non-UTF-8 locale; CI's environment may have none set.
ENV = {"LC_ALL": "C.UTF-8", "ANSIBLE_LOCAL_TEMP": "/tmp", "ANSIBLE_REMOTE_TEMP": "/tmp"}


def test_the_playbook_passes_the_syntax_check() -> None:
    result = run(
        [tool("ansible-playbook"), "--syntax-check", "-i", "inventory.example.yml", "site.yml"],
        cwd=ANSIBLE,
        env=ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_passes_the_production_profile() -> None:
    result = run(
        [tool("ansible-lint"), "--offline", "--nocolor"], cwd=ANSIBLE, env=ENV, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


def test_the_units_get_known_and_required_settings() -> None:
    env = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["riskops_env"]
    names = set(env)
    for unit in ("riskops-api.service.j2", "riskops-worker.service.j2"):
        text = (ROLE / "templates" / unit).read_text()
        assert "EnvironmentFile={{ riskops_config_dir }}/riskops.env" in text
        unit_names = names | set(re.findall(r"^Environment=(\w+)=", text, re.M))
        assert unknown(unit_names) == [], unit
        assert missing_required(unit_names) == [], unit
    assert "riskops worker" in (ROLE / "templates" / "riskops-worker.service.j2").read_text()
    assert env["RISKOPS_ENVIRONMENT"] == "production"
    assert env["RISKOPS_AUTO_MIGRATE"] == "false"  # the handler migrates, once


def test_the_worker_unit_serves_its_metrics_on_the_configured_port() -> None:
    unit = (ROLE / "templates" / "riskops-worker.service.j2").read_text()
    assert "Environment=RISKOPS_WORKER_METRICS_PORT={{ riskops_worker_metrics_port }}" in unit
    assert "Environment=RISKOPS_WORKER_METRICS_HOST={{ riskops_worker_metrics_host }}" in unit
    settings = yaml.safe_load((ANSIBLE / "group_vars" / "all.yml").read_text())
    assert settings["riskops_worker_metrics_port"] > 0
    assert settings["riskops_worker_metrics_host"] == "127.0.0.1"  # a host install: loopback
