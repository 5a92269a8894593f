"""Evaluating a ruleset against one payment's variables.

Evaluation never raises: a rule that cannot be evaluated becomes a RuleError on the
decision, so one broken rule or one odd feature value costs that rule, not the payment.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import cel

from riskops.rules.errors import RulesetError, problem
from riskops.rules.expressions import compile_expression
from riskops.rules.ruleset import Rule, RuleAction, Ruleset, Severity

# Decision records keep these messages for every payment; CEL's own are paragraphs long.
_MAX_MESSAGE: Final = 240


class RuleErrorType(StrEnum):
    MISSING_VARIABLE = "missing_variable"  # an input the rule reads was not supplied
    INVALID_VARIABLE = "invalid_variable"  # an input value CEL cannot represent
    DIVISION_BY_ZERO = "division_by_zero"
    OVERFLOW = "overflow"  # 64-bit integer or timestamp range exceeded
    TYPE_MISMATCH = "type_mismatch"  # no overload, e.g. int + double or string > int
    NON_BOOLEAN_RESULT = "non_boolean_result"
    EVALUATION_FAILED = "evaluation_failed"  # anything else the runtime reports


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    action: RuleAction
    reason_code: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class RuleError:
    rule_id: str
    error_type: RuleErrorType
    message: str


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """Hits and errors in ruleset order, with the ruleset identity a decision record needs."""

    ruleset_version: str
    ruleset_checksum: str
    hits: list[RuleHit]
    errors: list[RuleError]


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule_id: str
    program: cel.Program
    variables: frozenset[str]
    hit: RuleHit  # immutable, so one instance is shared by every evaluation that hits


class RulesEngine:
    """Compiles a ruleset once; `evaluate` is then safe to call from many threads."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset
        compiled: list[_CompiledRule] = []
        for rule in ruleset.rules:
            # Disabled rules are compiled too: a ruleset is valid or not as a whole, and a
            # broken rule must not wait to be discovered on the day someone enables it.
            entry = _compile(rule)
            if rule.enabled:
                compiled.append(entry)
        self._rules = tuple(compiled)
        self._variables = frozenset().union(*(rule.variables for rule in compiled))
        self._variable_order = tuple(sorted(self._variables))

    @property
    def ruleset(self) -> Ruleset:
        return self._ruleset

    @property
    def variables(self) -> frozenset[str]:
        """Every input the enabled rules read."""
        return self._variables

    def evaluate(self, variables: Mapping[str, object]) -> RuleEvaluation:
        # Turning Python values into CEL values is most of the cost (about 1 us a value), so
        # only what the rules read is converted, once, into one Context all rules share.
        # Measured on the default ruleset: a whole-vector Context is 2x slower, a dict per
        # execute (converted again for every rule) 25x; one CEL list program holding every
        # rule was no faster than a program per rule, which keeps errors per rule.
        bound = {name: variables[name] for name in self._variable_order if name in variables}
        context, unusable = _context(bound)
        if len(bound) < len(self._variable_order):
            for name in self._variables - bound.keys():
                unusable[name] = (RuleErrorType.MISSING_VARIABLE, "not supplied")
        hits: list[RuleHit] = []
        errors: list[RuleError] = []
        for rule in self._rules:
            try:
                result = rule.program.execute(context)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # a Rust panic arrives as pyo3's BaseException
                errors.append(_error(rule, exc, unusable))
                continue
            if result is True:
                hits.append(rule.hit)
            elif result is not False:
                text = _short(repr(result))
                message = f"expression returned {type(result).__name__} {text}, expected bool"
                errors.append(RuleError(rule.rule_id, RuleErrorType.NON_BOOLEAN_RESULT, message))
        return RuleEvaluation(self._ruleset.version, self._ruleset.checksum, hits, errors)


def _compile(rule: Rule) -> _CompiledRule:
    try:
        expression = compile_expression(rule.expression)
    except ValueError as exc:
        reason = f"syntax error: {exc}"
        raise RulesetError.from_problems([problem(rule.id, "expression", reason)]) from exc
    hit = RuleHit(rule.id, rule.action, rule.reason_code, rule.severity)
    return _CompiledRule(rule.id, expression.program, expression.variables, hit)


def _context(
    bound: dict[str, object],
) -> tuple[cel.Context, dict[str, tuple[RuleErrorType, str]]]:
    """A CEL context for `bound`, leaving out (and reporting) values CEL cannot hold."""
    try:
        return cel.Context(variables=bound), {}
    except Exception:  # not swallowed: redone one by one below to find the culprit
        context = cel.Context()
    unusable: dict[str, tuple[RuleErrorType, str]] = {}
    for name, value in bound.items():
        try:
            context.add_variable(name, value)
        except Exception as exc:
            kind = type(value).__name__
            unusable[name] = (RuleErrorType.INVALID_VARIABLE, f"{kind} value rejected: {exc}")
    return context, unusable


def _error(
    rule: _CompiledRule, exc: BaseException, unusable: dict[str, tuple[RuleErrorType, str]]
) -> RuleError:
    # CEL reports an unbound name as a RuntimeError with no structured detail; we know which
    # inputs were absent, so a rule reading one of them is blamed on that input precisely.
    culprits = sorted(rule.variables & unusable.keys()) if unusable else []
    if culprits and isinstance(exc, RuntimeError):
        error_type = unusable[culprits[0]][0]
        detail = "; ".join(f"{name}: {unusable[name][1]}" for name in culprits)
        return RuleError(rule.rule_id, error_type, _short(detail))
    if isinstance(exc, ZeroDivisionError):
        error_type = RuleErrorType.DIVISION_BY_ZERO
    elif isinstance(exc, OverflowError):
        error_type = RuleErrorType.OVERFLOW
    elif isinstance(exc, TypeError):
        error_type = RuleErrorType.TYPE_MISMATCH
    else:
        error_type = RuleErrorType.EVALUATION_FAILED
    return RuleError(rule.rule_id, error_type, _short(f"{type(exc).__name__}: {exc}"))


def _short(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else text
    if len(first_line) <= _MAX_MESSAGE:
        return first_line
    return first_line[: _MAX_MESSAGE - 3] + "..."
