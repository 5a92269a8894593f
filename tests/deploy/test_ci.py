"""The CI definitions: actionlint on the GitHub workflow; every definition runs the make
targets .ci/run runs (and lint), with CI=true so missing engines and tools fail."""

import pytest

from tests.deploy.tools import ROOT, run, tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DEFINITIONS = [WORKFLOW, ROOT / "Jenkinsfile", ROOT / ".teamcity" / "settings.kts"]


def test_actionlint_accepts_the_workflow() -> None:
    result = run([tool("actionlint"), "-no-color", str(WORKFLOW)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path) -> None:
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs_on: x", 1))
    result = run([tool("actionlint"), "-no-color", str(broken)], cwd=tmp_path)
    assert result.returncode != 0


def test_ci_run_is_make_test_with_ci_true() -> None:
    assert "CI=true make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_each_definition_runs_the_same_make_targets(path) -> None:
    text = path.read_text()
    assert "make lint" in text
    assert "make test" in text
    assert "CI" in text and "true" in text
    assert "RISKOPS_TEST_POSTGRES_URL" in text and "RISKOPS_TEST_REDIS_URL" in text
    assert "pgvector/pgvector:pg16" in text and "redis:7" in text
