"""The rules engine: CEL expressions over payment fields and features, in versioned rulesets."""

from riskops.rules.engine import RuleError, RuleErrorType, RuleEvaluation, RuleHit, RulesEngine
from riskops.rules.errors import RuleProblem, RulesetError
from riskops.rules.loader import (
    default_ruleset_path,
    load_default_ruleset,
    load_ruleset,
    parse_ruleset,
)
from riskops.rules.ruleset import Rule, RuleAction, Ruleset, Severity
from riskops.rules.variables import transaction_variable_names, transaction_variables

__all__ = [
    "Rule",
    "RuleAction",
    "RuleError",
    "RuleErrorType",
    "RuleEvaluation",
    "RuleHit",
    "RuleProblem",
    "RulesEngine",
    "Ruleset",
    "RulesetError",
    "Severity",
    "default_ruleset_path",
    "load_default_ruleset",
    "load_ruleset",
    "parse_ruleset",
    "transaction_variable_names",
    "transaction_variables",
]
