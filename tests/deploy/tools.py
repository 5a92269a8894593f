"""Deployment tools for the tests, and what to do when one is missing.

promtool and docker-compose come from Debian (`make deploy-tools`), the others with the dev
dependencies. Like tests/engines.py: missing on a laptop skips, missing in CI (CI=true) fails.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.engines import in_ci

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The venv's console scripts (ansible-lint, yamllint, actionlint, hadolint) sit beside python.
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The tool's path; skips (laptop) or fails (CI) the calling test when it is missing."""
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    message = f"{name} is not installed (make deploy-tools, or make install for PyPI tools)"
    if in_ci():
        pytest.fail(f"{message}; CI=true makes it mandatory")
    pytest.skip(message)


def run(
    args: Sequence[str],
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> "subprocess.CompletedProcess[str]":
    environment = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.update(env or {})
    return subprocess.run(
        list(args), cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def riskops_names(env: Mapping[str, Any]) -> set[str]:
    return {name for name in env if name.startswith("RISKOPS_")}


def module(name: str) -> Any:
    """An installed dev dependency; skips (laptop) or fails (CI) when it is missing."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"the Python package {name} is missing (make install)"
        if in_ci():
            pytest.fail(f"{message}; CI=true makes it mandatory")
        pytest.skip(message)
