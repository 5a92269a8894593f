"""Where the real engines live for tests, and what to do when one is missing.

On a laptop a missing engine skips its marked tests; in CI (CI=true) it fails them,
because there the engines are part of the contract.
"""

import os
import socket
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "RISKOPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("RISKOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_engine(name: str, url: str, default_port: int) -> None:
    """Skip (laptop) or fail (CI) the calling test when the engine is not reachable."""
    if reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if in_ci():
        pytest.fail(f"{message}; CI=true makes this engine mandatory")
    pytest.skip(message)
