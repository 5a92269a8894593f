"""yamllint over every YAML file of the deployment and CI (.yamllint.yml at the root)."""

from tests.deploy.tools import ROOT, run, tool

TARGETS = ["deploy", ".github", ".yamllint.yml"]


def test_yamllint_passes() -> None:
    result = run([tool("yamllint"), "--strict", "-c", ".yamllint.yml", *TARGETS])
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_catches_a_duplicate_key(tmp_path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("a: 1\na: 2\n")
    result = run([tool("yamllint"), "-c", str(ROOT / ".yamllint.yml"), str(bad)])
    assert result.returncode != 0
