"""The one adapter between stored rule dicts and the rules engine.

Drafts are checked by the engine's own loader (`ruleset_from_dicts`): every problem at once,
each naming its rule id (syntax, unknown variable, wrong type, unknown list, bad field). The
list names a draft may use are the lists that exist when it is checked; None skips that check
(a local file validated without a server).
"""

from collections.abc import Collection, Sequence
from typing import Any

from riskops.features import FEATURE_NAMES
from riskops.rules import (
    RuleProblem,
    Ruleset,
    ruleset_from_dicts,
    ruleset_problems,
    transaction_variable_names,
)


def known_variables() -> tuple[str, ...]:
    return (*FEATURE_NAMES, *transaction_variable_names())


def problems(rules: Sequence[Any], list_names: Collection[str] | None = None) -> list[RuleProblem]:
    """Every problem of a candidate ruleset, each naming its rule id (empty: valid)."""
    found: list[RuleProblem] = []
    if not rules:
        found.append(
            {"rule_id": None, "field": "rules", "reason": "a ruleset needs at least one rule"}
        )
    return found + ruleset_problems("0", rules, known_variables(), list_names)


def build_ruleset(
    version: str, rules: Sequence[Any], list_names: Collection[str] | None = None
) -> Ruleset:
    """The engine's Ruleset for stored rule dicts; RulesetError lists every problem."""
    return ruleset_from_dicts(version, rules, known_variables(), list_names)
