"""Loading rulesets from TOML: everything is checked before anything is returned.

A ruleset either loads whole or is refused with one RulesetError listing every problem,
so a bad edit can never half-apply and an analyst sees all mistakes in a draft at once.
"""

import difflib
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from riskops.rules.checker import VarType, type_problems
from riskops.rules.errors import RuleProblem, RulesetError, problem
from riskops.rules.expressions import compile_expression
from riskops.rules.ruleset import Rule, RuleAction, RuleMode, Ruleset, Severity
from riskops.rules.variables import transaction_variable_types

_REQUIRED_FIELDS: Final = (
    "id",
    "name",
    "description",
    "expression",
    "action",
    "reason_code",
    "severity",
)
_OPTIONAL_FIELDS: Final = ("enabled", "mode")
_TOP_LEVEL_FIELDS: Final = frozenset({"version", "rules"})

# Ids and versions end up in URLs, metric labels and audit rows: keep them plain.
_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_VERSION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_REASON_CODE: Final = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")

_Choice = TypeVar("_Choice", RuleAction, Severity, RuleMode)

# What the loader knows about variables: names alone (features typed "a number"), or a
# mapping from name to type for static type checks (see variables.variable_types).
KnownVariables = Collection[str] | Mapping[str, VarType]


def default_ruleset_path() -> Path:
    """The ruleset shipped with the product (package data next to this module)."""
    return Path(__file__).with_name("default_ruleset.toml")


def load_default_ruleset(
    known_variables: KnownVariables, list_names: Collection[str] | None = None
) -> Ruleset:
    return load_ruleset(default_ruleset_path(), known_variables, list_names)


def load_ruleset(
    path: Path, known_variables: KnownVariables, list_names: Collection[str] | None = None
) -> Ruleset:
    """Load a ruleset file; unreadable files are refused with the same RulesetError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesetError.from_problems([problem(None, "path", f"{path}: {exc}")]) from exc
    return parse_ruleset(text, known_variables, list_names)


def parse_ruleset(
    text: str, known_variables: KnownVariables, list_names: Collection[str] | None = None
) -> Ruleset:
    """Parse and validate TOML text: `version = "..."` and `[[rules]]` tables.

    Every variable an expression reads must be in `known_variables`, so a misspelt feature
    name is caught here rather than failing on every payment in production; with
    `list_names`, every list an `in_list(...)` names must be one of them.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError.from_problems([problem(None, "toml", str(exc))]) from exc
    return _ruleset(document, known_variables, list_names)


def ruleset_from_dicts(
    version: str,
    rules: Sequence[Mapping[str, object]],
    known_variables: KnownVariables,
    list_names: Collection[str] | None = None,
) -> Ruleset:
    """A ruleset from JSON rule objects (a draft), checked exactly as a TOML file is.

    Raises RulesetError whose `problems` name every rule id, field and reason at once.
    """
    return _ruleset({"version": version, "rules": list(rules)}, known_variables, list_names)


def ruleset_problems(
    version: str,
    rules: Sequence[Mapping[str, object]],
    known_variables: KnownVariables,
    list_names: Collection[str] | None = None,
) -> list[RuleProblem]:
    """Every problem of a draft ruleset (empty when it is valid): a 422's `details.errors`."""
    try:
        ruleset_from_dicts(version, rules, known_variables, list_names)
    except RulesetError as exc:
        return exc.problems
    return []


def _ruleset(
    document: Mapping[str, object],
    known_variables: KnownVariables,
    list_names: Collection[str] | None,
) -> Ruleset:
    known = _Known.of(known_variables, list_names)
    problems: list[RuleProblem] = []
    version = _version(document, problems)
    problems.extend(
        problem(None, key, "unknown top-level field; expected 'version' and [[rules]]")
        for key in sorted(document.keys() - _TOP_LEVEL_FIELDS)
    )
    raw_rules = document.get("rules")
    rules: list[Rule] = []
    if raw_rules is None:
        problems.append(problem(None, "rules", "missing required field"))
    elif not isinstance(raw_rules, list):
        problems.append(problem(None, "rules", "must be an array of [[rules]] tables"))
    else:
        first_index: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            raw = dict(raw) if isinstance(raw, Mapping) else raw
            rule = _rule(index, raw, known, problems)
            # Checked on the raw id, so a duplicate is reported even if the rule has other
            # problems: fixing those must not reveal a new one on the next save.
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(rule_id, str) and _ID.fullmatch(rule_id):
                if rule_id in first_index:
                    reason = f"duplicate rule id; first used by rules[{first_index[rule_id]}]"
                    problems.append(problem(rule_id, "id", reason))
                    continue
                first_index[rule_id] = index
            if rule is not None:
                rules.append(rule)
    if problems or version is None:
        raise RulesetError.from_problems(problems)
    return Ruleset(version=version, rules=tuple(rules))


def _version(document: Mapping[str, object], problems: list[RuleProblem]) -> str | None:
    version = document.get("version")
    if version is None:
        problems.append(problem(None, "version", "missing required field"))
        return None
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        reason = "must be a string of letters, digits and . _ + - (at most 64 characters)"
        problems.append(problem(None, "version", reason))
        return None
    return version


@dataclass(frozen=True, slots=True)
class _Known:
    types: Mapping[str, VarType]
    list_names: frozenset[str] | None

    @classmethod
    def of(cls, variables: KnownVariables, list_names: Collection[str] | None) -> "_Known":
        if isinstance(variables, Mapping):
            types: dict[str, VarType] = dict(variables)
        else:
            # Names alone: the payment fields' types are fixed, features are numbers.
            fixed = transaction_variable_types()
            types = {name: fixed.get(name, "number") for name in variables}
        return cls(types, None if list_names is None else frozenset(list_names))


def _rule(index: int, raw: object, known: _Known, problems: list[RuleProblem]) -> Rule | None:
    """Validate one [[rules]] table; on any problem record it and return None."""
    if not isinstance(raw, dict):
        problems.append(problem(f"rules[{index}]", "rules", "must be a table"))
        return None
    raw_id = raw.get("id")
    # Name the rule by its id when it has a usable one, else by its position in the file.
    label = raw_id if isinstance(raw_id, str) and _ID.fullmatch(raw_id) else f"rules[{index}]"
    found: list[RuleProblem] = []

    def add(field: str, reason: str) -> None:
        found.append(problem(label, field, reason))

    for key in sorted(raw.keys() - {*_REQUIRED_FIELDS, *_OPTIONAL_FIELDS}):
        add(key, "unknown field")
    text: dict[str, str] = {}
    for name in _REQUIRED_FIELDS:
        value = raw.get(name)
        if value is None:
            add(name, "missing required field")
        elif not isinstance(value, str):
            add(name, f"must be a string, got {type(value).__name__}")
        elif not value.strip():
            add(name, "must not be empty")
        else:
            # Multi-line TOML strings carry their line breaks at the ends; they mean nothing.
            text[name] = value.strip()
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        add("enabled", "must be true or false")
    if "id" in text and not _ID.fullmatch(text["id"]):
        add("id", "must be lowercase letters, digits, '_' or '-' (at most 64 characters)")
    if "reason_code" in text and not _REASON_CODE.fullmatch(text["reason_code"]):
        add("reason_code", "must be UPPER_SNAKE_CASE, e.g. CARD_TESTING")
    action = _choice(RuleAction, text.get("action"), "action", add)
    severity = _choice(Severity, text.get("severity"), "severity", add)
    raw_mode = raw.get("mode", RuleMode.ACTIVE.value)
    mode = _choice(RuleMode, raw_mode if isinstance(raw_mode, str) else None, "mode", add)
    if not isinstance(raw_mode, str):
        add("mode", "must be 'active' or 'shadow'")
    if "expression" in text:
        for reason in _expression_problems(text["expression"], known):
            add("expression", reason)
    problems.extend(found)
    if found or action is None or severity is None or mode is None:
        return None
    return Rule(
        id=text["id"],
        name=text["name"],
        description=text["description"],
        expression=text["expression"],
        action=action,
        reason_code=text["reason_code"],
        severity=severity,
        enabled=bool(enabled),
        mode=mode,
    )


def _choice(
    enum: type[_Choice], value: str | None, field: str, add: Callable[[str, str], None]
) -> _Choice | None:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        expected = ", ".join(member.value for member in enum)
        add(field, f"unknown {field} '{value}'; expected one of: {expected}")
        return None


def _expression_problems(source: str, known: _Known) -> list[str]:
    try:
        expression = compile_expression(source)
    except ValueError as exc:
        return [f"syntax error: {exc}"]
    reasons = []
    for name in sorted(expression.variables - known.types.keys()):
        close = difflib.get_close_matches(name, list(known.types), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        reasons.append(f"unknown variable '{name}'{hint}")
    reasons.extend(
        f"unknown function '{name}'; the rule language has only the CEL standard functions"
        for name in sorted(expression.unknown_functions)
    )
    reasons.extend(type_problems(source, known.types, known.list_names))
    return reasons
