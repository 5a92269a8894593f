"""The rules engine: CEL expressions over payment fields and features, in versioned rulesets."""

from riskops.rules.engine import RuleError, RuleErrorType, RuleEvaluation, RuleHit, RulesEngine
from riskops.rules.errors import RuleProblem, RulesetError
from riskops.rules.lists import ListKind, ListPurpose, ListSnapshot, ListSource
from riskops.rules.loader import (
    default_ruleset_path,
    load_default_ruleset,
    load_ruleset,
    parse_ruleset,
    ruleset_from_dicts,
    ruleset_problems,
)
from riskops.rules.ruleset import Rule, RuleAction, RuleMode, Ruleset, Severity
from riskops.rules.variables import (
    transaction_variable_names,
    transaction_variable_types,
    transaction_variables,
)

__all__ = [
    "ListKind",
    "ListPurpose",
    "ListSnapshot",
    "ListSource",
    "Rule",
    "RuleAction",
    "RuleError",
    "RuleErrorType",
    "RuleEvaluation",
    "RuleHit",
    "RuleMode",
    "RuleProblem",
    "RulesEngine",
    "Ruleset",
    "RulesetError",
    "Severity",
    "default_ruleset_path",
    "load_default_ruleset",
    "load_ruleset",
    "parse_ruleset",
    "ruleset_from_dicts",
    "ruleset_problems",
    "transaction_variable_names",
    "transaction_variable_types",
    "transaction_variables",
]
