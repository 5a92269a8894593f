"""The one adapter between stored rule dicts and the rules engine.

MERGE NOTE: h-rulesengine adds a validator returning every problem per rule id (syntax,
unknown variable, wrong type, unknown list) and a builder of a Ruleset from JSON rule dicts
with real shadow mode. At merge, `problems` and `build_ruleset` below should call those; the
rest of this package only uses these two functions and `known_variables`.

Until then the dicts are rendered as TOML and go through today's `parse_ruleset`, which
reports every problem at once; `mode = "shadow"` maps to `enabled = false` (compiled and
validated, never evaluated), the closest today's engine has to "never changes an outcome".
"""

import json
from collections.abc import Sequence
from typing import Final

from riskops.features import FEATURE_NAMES
from riskops.rules import (
    RuleProblem,
    Ruleset,
    RulesetError,
    parse_ruleset,
    transaction_variable_names,
)
from riskops.rulesets.content import ACTIONS, MODES, RULE_FIELDS, RuleDict

# The API's "approve" is the engine's allow-list override.
_ENGINE_ACTION: Final = {"approve": "approve_override"}


def known_variables() -> tuple[str, ...]:
    return (*FEATURE_NAMES, *transaction_variable_names())


def problems(rules: Sequence[object]) -> list[RuleProblem]:
    """Every problem of a candidate ruleset, each naming its rule id (empty: valid)."""
    try:
        build_ruleset("0", rules)
    except RulesetError as error:
        return error.problems
    return []


def build_ruleset(version: str, rules: Sequence[object]) -> Ruleset:
    """The engine's Ruleset for stored rule dicts; RulesetError lists every problem."""
    found: list[RuleProblem] = []
    tables: list[str] = []
    for index, raw in enumerate(rules):
        if not isinstance(raw, dict):
            found.append(
                {"rule_id": f"rules[{index}]", "field": "rules", "reason": "must be an object"}
            )
            continue
        tables.append(_table(index, raw, found))
    if not rules:
        found.append(
            {"rule_id": None, "field": "rules", "reason": "a ruleset needs at least one rule"}
        )
    try:
        ruleset = parse_ruleset(f'version = "{version}"\n' + "".join(tables), known_variables())
    except RulesetError as error:
        raise RulesetError.from_problems([*found, *error.problems]) from error
    if found:
        raise RulesetError.from_problems(found)
    return ruleset


def _table(index: int, raw: RuleDict, found: list[RuleProblem]) -> str:
    """One [[rules]] table; mode and action are checked and mapped here, the rest by the loader."""
    label = raw["id"] if isinstance(raw.get("id"), str) and raw["id"] else f"rules[{index}]"
    fields: dict[str, object] = {k: v for k, v in raw.items() if k != "mode"}
    for unknown in sorted(raw.keys() - set(RULE_FIELDS)):
        found.append({"rule_id": label, "field": unknown, "reason": "unknown field"})
        fields.pop(unknown)
    mode = raw.get("mode", "active")
    if mode not in MODES:
        found.append(
            {"rule_id": label, "field": "mode", "reason": f"must be one of: {', '.join(MODES)}"}
        )
    action = raw.get("action")
    if isinstance(action, str):
        if action not in ACTIONS:
            reason = f"unknown action '{action}'; expected one of: {', '.join(ACTIONS)}"
            found.append({"rule_id": label, "field": "action", "reason": reason})
            fields["action"] = "tag"  # keep checking the rest of the rule
        else:
            fields["action"] = _ENGINE_ACTION.get(action, action)
    lines = ["[[rules]]"]
    for name, value in fields.items():
        lines.append(f"{name} = {_toml_value(value)}")
    lines.append(f"enabled = {'false' if mode == 'shadow' else 'true'}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        # A JSON string is a TOML basic string, save DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(json.dumps(value))  # not a string: shown as text, refused by the loader
