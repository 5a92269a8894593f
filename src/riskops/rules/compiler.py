"""Rule expressions compiled to Python closures with CEL's semantics, for the hot path.

CEL through the `cel` library costs about 1 us per variable converted plus 1-2 us per rule;
a closure tree reads the caller's mapping directly and costs a few hundred nanoseconds.
Semantics follow what the `cel` library does (tests/rules/test_compiler_parity.py checks
every operator against it):

- values are int (64-bit), double, string, bool and literal lists; bool is not a number;
- `==` across types is false, except int and double, which compare by value; ordering
  across types other than int/double is a type error, and so is ordering NaN;
- int arithmetic fails on 64-bit overflow and on division or modulo by zero; `/` and `%`
  truncate toward zero; double arithmetic is IEEE (x / 0.0 is an infinity); int and
  double are never mixed in arithmetic; double `%` is a type error;
- `&&` and `||` absorb an error when the other side decides (`false && error` is false,
  `error || true` is true); when both sides fail, the right side's error is reported.

Anything this module is unsure of raises `NeedsCel`, and the engine evaluates that rule
with the `cel` library for this payment: values of other Python types, functions called
with unexpected argument types, unknown lists. Exactness over coverage.
"""

import math
from collections.abc import Callable, Mapping
from typing import Final

from riskops.rules.lists import ListSnapshot, UnknownList
from riskops.rules.syntax import (
    INT64_MAX,
    INT64_MIN,
    Binary,
    Call,
    Conditional,
    ListLit,
    Lit,
    Logical,
    Node,
    Not,
    Unsupported,
    Var,
    parse,
)

Env = Mapping[str, object]
Compiled = Callable[[Env, ListSnapshot], object]


class NeedsCel(Exception):
    """This evaluation leaves the compiled subset: evaluate the rule with the cel library."""


class MissingVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


_NUMBERS: Final = frozenset({int, float})
_ORDERED: Final = frozenset({int, float, str, bool})
_STRING_METHODS: Final = {
    "contains": str.__contains__,
    "startsWith": str.startswith,
    "endsWith": str.endswith,
}


def compile_rule(source: str) -> Compiled:
    """Compile `source`, which CEL's parser accepted; raises Unsupported outside the subset."""
    return _compile(parse(source))


def compile_tree(node: Node) -> Compiled:
    """The closure of an already parsed (sub)expression."""
    return _compile(node)


def _read(env: Env, name: str) -> object:
    try:
        value = env[name]
    except KeyError:
        raise MissingVariable(name) from None
    kind = type(value)
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
            return value
        raise NeedsCel  # CEL turns larger ints into uint; not modelled here
    if kind is float or kind is str or kind is bool:
        return value
    raise NeedsCel


def _overload(op: str, left: object, right: object) -> TypeError:
    names = f"{type(left).__name__} {op} {type(right).__name__}"
    return TypeError(f"no such overload: {names}")


def equal(left: object, right: object) -> bool:
    kind = type(left)
    if kind is type(right):
        if kind is list:
            raise NeedsCel
        return left == right
    if kind in _NUMBERS and type(right) in _NUMBERS:
        return left == right
    if kind is list or type(right) is list:
        raise NeedsCel
    return False


def _ordered(op: str, left: object, right: object) -> None:
    kind = type(left)
    if (kind is type(right) and kind in _ORDERED) or (kind in _NUMBERS and type(right) in _NUMBERS):
        # NaN has no order: CEL reports no overload rather than answering false.
        if left != left or right != right:
            raise _overload(op, left, right)
        return
    raise _overload(op, left, right)


def _checked(value: int) -> int:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise OverflowError("integer overflow")


def _arithmetic(op: str, left: object, right: object) -> object:
    kind = type(left)
    if kind is not type(right) or kind not in {int, float, str}:
        if kind is list or type(right) is list:
            raise NeedsCel
        raise _overload(op, left, right)
    if kind is str:
        if op == "+":
            return left + right  # type: ignore[operator]
        raise _overload(op, left, right)
    if kind is int:
        return _int_arithmetic(op, left, right)  # type: ignore[arg-type]
    return _double_arithmetic(op, left, right)  # type: ignore[arg-type]


def _int_arithmetic(op: str, a: int, b: int) -> int:
    if op == "+":
        return _checked(a + b)
    if op == "-":
        return _checked(a - b)
    if op == "*":
        return _checked(a * b)
    if b == 0:
        raise ZeroDivisionError("division by zero" if op == "/" else "modulo by zero")
    if a == INT64_MIN and b == -1:
        raise OverflowError("integer overflow")
    if op == "/":
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    remainder = abs(a) % abs(b)  # truncated: the sign follows the dividend
    return remainder if a >= 0 else -remainder


def _double_arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "%":
        raise _overload(op, a, b)
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    _ordered(op, left, right)
    if op == "<":
        return bool(left < right)  # type: ignore[operator]
    if op == "<=":
        return bool(left <= right)  # type: ignore[operator]
    if op == ">":
        return bool(left > right)  # type: ignore[operator]
    return bool(left >= right)  # type: ignore[operator]


_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


def _compile(node: Node) -> Compiled:
    if isinstance(node, Lit):
        value = node.value
        return lambda env, lists: value
    if isinstance(node, Var):
        name = node.name
        return lambda env, lists: _read(env, name)
    if isinstance(node, ListLit):
        items = tuple(_compile(item) for item in node.items)
        return lambda env, lists: [item(env, lists) for item in items]
    if isinstance(node, Not):
        return _not(_compile(node.operand))
    if isinstance(node, Logical):
        left, right = _compile(node.left), _compile(node.right)
        return _logical(node.op, left, right)
    if isinstance(node, Conditional):
        return _conditional(_compile(node.condition), _compile(node.then), _compile(node.otherwise))
    if isinstance(node, Binary):
        return _binary(node)
    return _call(node)


def _not(operand: Compiled) -> Compiled:
    def run(env: Env, lists: ListSnapshot) -> object:
        value = operand(env, lists)
        if type(value) is bool:
            return not value
        raise TypeError(f"no such overload: !{type(value).__name__}")

    return run


def _logical(op: str, left: Compiled, right: Compiled) -> Compiled:
    """CEL's commutative `||` / `&&`: the deciding value (true for `||`, false for `&&`) on
    either side wins, even over an error on the other side; otherwise an error is reported."""
    decisive = op == "||"

    def run(env: Env, lists: ListSnapshot) -> object:
        failure: Exception | None = None
        try:
            first = left(env, lists)
        except NeedsCel:
            raise
        except Exception as exc:  # absorbed if the right side decides
            failure, first = exc, None
        if first is decisive:
            return decisive
        second = right(env, lists)  # its error, if any, is the one reported
        if second is decisive:
            return decisive
        if failure is not None:
            raise failure
        if type(first) is bool and type(second) is bool:
            return not decisive
        raise _overload(op, first, second)

    return run


def _conditional(condition: Compiled, then: Compiled, otherwise: Compiled) -> Compiled:
    def run(env: Env, lists: ListSnapshot) -> object:
        chosen = condition(env, lists)
        if chosen is True:
            return then(env, lists)
        if chosen is False:
            return otherwise(env, lists)
        raise TypeError(f"no such overload: {type(chosen).__name__} ? _ : _")

    return run


def _binary(node: Binary) -> Compiled:
    op = node.op
    if op == "in":
        return _membership(node)
    fast = _variable_against_literal(node)
    if fast is not None:
        return fast
    left, right = _compile(node.left), _compile(node.right)
    if op in _COMPARISONS:
        return lambda env, lists: _compare(op, left(env, lists), right(env, lists))
    return lambda env, lists: _arithmetic(op, left(env, lists), right(env, lists))


def _variable_against_literal(node: Binary) -> Compiled | None:
    """`feature >= 5`, `channel == "ecom"`: most rule clauses, one closure each."""
    if node.op not in _COMPARISONS or not isinstance(node.left, Var):
        return None
    if not isinstance(node.right, Lit) or type(node.right.value) is bool:
        return None
    name, op, literal = node.left.name, node.op, node.right.value
    if type(literal) is str:
        if op not in {"==", "!="}:
            return None
        negate = op == "!="

        def string_equality(env: Env, lists: ListSnapshot) -> object:
            value = _read(env, name)
            if type(value) is str:
                return (value == literal) is not negate
            return _compare(op, value, literal)

        return string_equality
    compare = {
        "==": float.__eq__,
        "!=": float.__ne__,
        "<": float.__lt__,
        "<=": float.__le__,
        ">": float.__gt__,
        ">=": float.__ge__,
    }[op]
    if type(literal) is int and literal != float(literal):
        return None  # beyond double precision: let the exact generic path compare
    bound = float(literal)
    ordering = op not in {"==", "!="}

    def number_comparison(env: Env, lists: ListSnapshot) -> object:
        value = _read(env, name)
        kind = type(value)
        if kind is float and (value == value or not ordering):  # NaN has no order
            return compare(value, bound)  # type: ignore[arg-type]
        if kind is int and -(2**53) <= value <= 2**53:  # type: ignore[operator]
            return compare(float(value), bound)  # type: ignore[arg-type]
        return _compare(op, value, literal)

    return number_comparison


def _membership(node: Binary) -> Compiled:
    if not isinstance(node.right, ListLit):
        raise Unsupported("'in' on anything but a list literal")
    needle = _compile(node.left)
    items = node.right.items
    if items and all(isinstance(i, Lit) and type(i.value) is str for i in items):
        strings = frozenset(i.value for i in items if isinstance(i, Lit))

        def in_strings(env: Env, lists: ListSnapshot) -> object:
            value = needle(env, lists)
            if type(value) is str:
                return value in strings
            if type(value) is list:
                raise NeedsCel
            return False  # other types are never equal to a string

        return in_strings
    haystack = _compile(node.right)

    def in_list_literal(env: Env, lists: ListSnapshot) -> object:
        value = needle(env, lists)
        candidates = haystack(env, lists)
        return any(equal(value, item) for item in candidates)  # type: ignore[attr-defined]

    return in_list_literal


def _call(node: Call) -> Compiled:
    name, args = node.function, tuple(_compile(a) for a in node.args)
    if name == "in_list":
        return _in_list(node)
    if name == "size" and (node.target is None) == (len(args) == 1) and len(node.args) <= 1:
        subject = _compile(node.target) if node.target is not None else args[0]

        def size(env: Env, lists: ListSnapshot) -> object:
            value = subject(env, lists)
            if type(value) is str:
                return len(value)
            raise NeedsCel

        return size
    method = _STRING_METHODS.get(name)
    if method is None or node.target is None or len(args) != 1:
        raise Unsupported(f"function {name}")
    target, argument = _compile(node.target), args[0]

    def string_method(env: Env, lists: ListSnapshot) -> object:
        value, other = target(env, lists), argument(env, lists)
        if type(value) is str and type(other) is str:
            return method(value, other)
        raise NeedsCel

    return string_method


def _in_list(node: Call) -> Compiled:
    if node.target is not None or len(node.args) != 2:
        raise Unsupported("in_list takes (list name, value)")
    list_name = node.args[0]
    if not isinstance(list_name, Lit) or type(list_name.value) is not str:
        raise Unsupported("in_list needs the list name as a string literal")
    name = list_name.value
    value_of = _compile(node.args[1])

    def in_list(env: Env, lists: ListSnapshot) -> object:
        value = value_of(env, lists)
        if type(value) is not str:
            raise NeedsCel
        try:
            return lists.contains(name, value)
        except UnknownList:
            raise NeedsCel from None

    return in_list
