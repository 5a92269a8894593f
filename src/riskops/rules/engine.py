"""Evaluating a ruleset against one payment's variables.

Evaluation never raises: a rule that cannot be evaluated becomes a RuleError on the
decision, so one broken rule or one odd feature value costs that rule, not the payment.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import cel

from riskops.rules.codegen import Generated, generate
from riskops.rules.compiler import Compiled, MissingVariable, NeedsCel, compile_tree
from riskops.rules.errors import RulesetError, problem
from riskops.rules.expressions import compile_expression
from riskops.rules.lists import ListSnapshot, ListSource
from riskops.rules.ruleset import Rule, RuleAction, RuleMode, Ruleset, Severity
from riskops.rules.syntax import Node, Unsupported, parse

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
    """Hits and errors in ruleset order, with the ruleset identity a decision record needs.

    `hits` and `errors` come from active rules only: they are what the policy sees.
    Shadow rules' results are kept apart so that nothing downstream can mistake them.
    """

    ruleset_version: str
    ruleset_checksum: str
    hits: list[RuleHit]
    errors: list[RuleError]
    shadow_hits: list[RuleHit] = field(default_factory=list)
    shadow_errors: list[RuleError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule_id: str
    program: cel.Program
    closure: Compiled | None  # None: outside the compiled subset, CEL evaluates it
    tree: Node | None  # what the generated function is written from (None with closure)
    variables: frozenset[str]
    hit: RuleHit  # immutable, so one instance is shared by every evaluation that hits


class RulesEngine:
    """Compiles a ruleset once; `evaluate` is then safe to call from many threads.

    `lists` is where `in_list(...)` looks; a `ListSource` is read once per evaluation, so
    a list update from the poller never splits one decision. `compiled=False` evaluates
    every rule with the `cel` library (the reference the compiled closures are tested
    against).
    """

    def __init__(
        self,
        ruleset: Ruleset,
        lists: ListSource | ListSnapshot | None = None,
        *,
        compiled: bool = True,
    ) -> None:
        self._ruleset = ruleset
        self._lists = lists if isinstance(lists, ListSource) else ListSource(lists)
        active: list[_CompiledRule] = []
        shadow: list[_CompiledRule] = []
        for rule in ruleset.rules:
            # Disabled rules are compiled too: a ruleset is valid or not as a whole, and a
            # broken rule must not wait to be discovered on the day someone enables it.
            entry = _compile(rule, compiled=compiled)
            if rule.enabled:
                (shadow if rule.mode is RuleMode.SHADOW else active).append(entry)
        self._rules = tuple(active)
        self._shadow_rules = tuple(shadow)
        self._fast = _generated(self._rules) if compiled else None
        self._shadow_fast = _generated(self._shadow_rules) if compiled else None
        self._variables = frozenset().union(*(rule.variables for rule in (*active, *shadow)))
        self._variable_order = tuple(sorted(self._variables))

    @property
    def ruleset(self) -> Ruleset:
        return self._ruleset

    @property
    def lists(self) -> ListSource:
        return self._lists

    @property
    def interpreted(self) -> frozenset[str]:
        """Ids of enabled rules outside the compiled subset, which the cel library evaluates."""
        rules = (*self._rules, *self._shadow_rules)
        return frozenset(rule.rule_id for rule in rules if rule.closure is None)

    @property
    def variables(self) -> frozenset[str]:
        """Every input the enabled rules (active and shadow) read."""
        return self._variables

    def evaluate(self, variables: Mapping[str, object]) -> RuleEvaluation:
        run = _Run(self, variables, self._lists.current)
        hits, errors = run.rules(self._rules, self._fast)
        shadow_hits, shadow_errors = (
            run.rules(self._shadow_rules, self._shadow_fast) if self._shadow_rules else ([], [])
        )
        return RuleEvaluation(
            self._ruleset.version,
            self._ruleset.checksum,
            hits,
            errors,
            shadow_hits,
            shadow_errors,
        )


class _Run:
    """One evaluation: compiled closures read `variables` directly; the CEL context that
    rules outside the compiled subset need is built only if one of them runs."""

    __slots__ = ("_context", "_engine", "_lists", "_variables")

    def __init__(
        self, engine: RulesEngine, variables: Mapping[str, object], lists: ListSnapshot
    ) -> None:
        self._engine = engine
        self._variables = variables
        self._lists = lists
        self._context: tuple[cel.Context, dict[str, tuple[RuleErrorType, str]]] | None = None

    def rules(
        self, rules: tuple[_CompiledRule, ...], fast: Generated | None
    ) -> tuple[list[RuleHit], list[RuleError]]:
        hits: list[RuleHit] = []
        errors: list[RuleError] = []
        if fast is None:
            for rule in rules:
                self._one(rule, hits, errors)
            return hits, errors

        def slow(index: int) -> None:
            self._one(rules[index], hits, errors)

        fast(self._variables, self._lists, hits, slow)  # type: ignore[arg-type]
        return hits, errors

    def _one(self, rule: _CompiledRule, hits: list[RuleHit], errors: list[RuleError]) -> None:
        """One rule with CEL's full semantics: its closure, else the cel library."""
        closure = rule.closure
        if closure is None:
            result = self._cel(rule)
        else:
            try:
                result = closure(self._variables, self._lists)
            except NeedsCel:
                result = self._cel(rule)
            except MissingVariable:
                result = _missing(rule, self._variables)
            except (ZeroDivisionError, OverflowError, TypeError) as exc:
                result = _error(rule, exc, {})
        if result is True:
            hits.append(rule.hit)
        elif result is False:
            return
        elif isinstance(result, RuleError):
            errors.append(result)
        else:
            text = _short(repr(result))
            message = f"expression returned {type(result).__name__} {text}, expected bool"
            errors.append(RuleError(rule.rule_id, RuleErrorType.NON_BOOLEAN_RESULT, message))

    def _cel(self, rule: _CompiledRule) -> object:
        if self._context is None:
            self._context = self._build_context()
        context, unusable = self._context
        try:
            return rule.program.execute(context)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic arrives as pyo3's BaseException
            return _error(rule, exc, unusable)

    def _build_context(self) -> tuple[cel.Context, dict[str, tuple[RuleErrorType, str]]]:
        # Turning Python values into CEL values is most of CEL's cost (about 1 us a value),
        # so only what the rules read is converted, once, into one Context all rules share.
        order = self._engine._variable_order
        source = self._variables
        bound = {name: source[name] for name in order if name in source}
        context, unusable = _context(bound)
        for name in self._engine.variables - bound.keys():
            unusable[name] = (RuleErrorType.MISSING_VARIABLE, "not supplied")
        lists = self._lists
        context.add_function("in_list", lambda name, value: _in_list(lists, name, value))
        return context, unusable


def _in_list(lists: ListSnapshot, name: object, value: object) -> bool:
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("in_list takes a list name and a string value")
    return lists.contains(name, value)


def _missing(rule: _CompiledRule, variables: Mapping[str, object]) -> RuleError:
    absent = {
        name: (RuleErrorType.MISSING_VARIABLE, "not supplied")
        for name in rule.variables
        if name not in variables
    }
    return _error(rule, RuntimeError("undefined variable"), absent)


def _compile(rule: Rule, *, compiled: bool) -> _CompiledRule:
    try:
        expression = compile_expression(rule.expression)
    except ValueError as exc:
        reason = f"syntax error: {exc}"
        raise RulesetError.from_problems([problem(rule.id, "expression", reason)]) from exc
    closure: Compiled | None = None
    tree: Node | None = None
    if compiled:
        try:
            tree = parse(rule.expression)
            closure = compile_tree(tree)
        except Unsupported:
            tree = closure = None  # valid CEL outside the compiled subset: CEL evaluates it
    hit = RuleHit(rule.id, rule.action, rule.reason_code, rule.severity)
    return _CompiledRule(rule.id, expression.program, closure, tree, expression.variables, hit)


def _generated(rules: tuple[_CompiledRule, ...]) -> Generated:
    return generate([rule.tree for rule in rules], [rule.hit for rule in rules], compile_tree)


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
