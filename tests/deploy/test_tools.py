"""A missing deployment tool skips on a laptop and fails in CI."""

import pytest

from tests.deploy.tools import module, tool


def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        tool("riskops-no-such-tool")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        module("riskops_no_such_module")


def test_a_missing_tool_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        tool("riskops-no-such-tool")
    with pytest.raises(pytest.skip.Exception):
        module("riskops_no_such_module")
