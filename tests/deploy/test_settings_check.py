"""The settings checks themselves: they catch a typo and a missing production secret."""

import pytest
from pydantic import ValidationError

from tests.deploy.settings_check import REQUIRED_IN_PRODUCTION, load, missing_required, unknown

PRODUCTION = {
    "RISKOPS_ENVIRONMENT": "production",
    "RISKOPS_DATABASE_URL": "postgresql+asyncpg://riskops:pw@db:5432/riskops",
    "RISKOPS_CARD_TOKEN_SECRET": "c" * 40,
    "RISKOPS_SESSION_SECRET": "s" * 40,
}


def test_a_misspelled_setting_is_unknown() -> None:
    assert unknown(["RISKOPS_FEATURE_STORE", "RISKOPS_FEATURESTORE", "PATH"]) == [
        "RISKOPS_FEATURESTORE"
    ]


def test_each_required_setting_is_really_required_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load(PRODUCTION, monkeypatch).environment == "production"
    for name in REQUIRED_IN_PRODUCTION - {"RISKOPS_ENVIRONMENT"}:
        partial = {k: v for k, v in PRODUCTION.items() if k != name}
        with pytest.raises(ValidationError):
            load(partial, monkeypatch)
        assert missing_required(partial) == [name]
