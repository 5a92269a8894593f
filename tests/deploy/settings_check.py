"""What the deployment files pass to RiskOps, checked against the one settings class."""

from collections.abc import Iterable, Mapping

import pytest

from riskops.settings import Settings

PREFIX = "RISKOPS_"
# Production refuses to start without these (Settings._check); every deployment passes them.
REQUIRED_IN_PRODUCTION = frozenset(
    {
        "RISKOPS_ENVIRONMENT",
        "RISKOPS_DATABASE_URL",
        "RISKOPS_CARD_TOKEN_SECRET",
        "RISKOPS_SESSION_SECRET",
    }
)


def unknown(names: Iterable[str]) -> list[str]:
    """RISKOPS_* names that are no field of Settings (a typo is silently ignored otherwise)."""
    fields = {PREFIX + field.upper() for field in Settings.model_fields}
    return sorted(n for n in names if n.startswith(PREFIX) and n not in fields)


def missing_required(names: Iterable[str]) -> list[str]:
    return sorted(REQUIRED_IN_PRODUCTION - set(names))


def load(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings exactly as a process with this environment (and nothing else) reads them."""
    import os

    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]
