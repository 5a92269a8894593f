"""Static checks of an expression against the variables' known types and the known lists.

CEL evaluates `"FR" == 1` to false and fails `"FR" > 1` on every payment; neither is what
an analyst meant, so both are refused when the rule is written, with the rule id and the
reason. What cannot be known statically (features typed only as "a number") passes.
"""

import re
from collections.abc import Collection, Mapping
from typing import Final, Literal

from riskops.rules.syntax import (
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

VarType = Literal["int", "double", "number", "string", "bool", "list", "dyn"]
_NUMERIC: Final = frozenset({"int", "double", "number"})
_ORDERING: Final = frozenset({"<", "<=", ">", ">="})
# For expressions outside the parsed subset, list names are still found and checked.
_IN_LIST_NAME: Final = re.compile(r"""\bin_list\s*\(\s*(?:"([^"]*)"|'([^']*)')""")


def type_problems(
    source: str, types: Mapping[str, VarType], list_names: Collection[str] | None
) -> list[str]:
    """Every type or list problem of `source` (already accepted by CEL's parser)."""
    try:
        tree = parse(source)
    except Unsupported:
        # CEL will evaluate it; only list names can still be checked.
        if list_names is None:
            return []
        names = {a or b for a, b in _IN_LIST_NAME.findall(source)}
        return [f"unknown list '{name}'" for name in sorted(names - set(list_names))]
    checker = _Checker(types, list_names)
    result = checker.type_of(tree)
    if result not in {"bool", "dyn"}:
        checker.reasons.append(f"the expression yields {result}, not a bool")
    return checker.reasons


def _literal_type(value: object) -> VarType:
    if type(value) is bool:
        return "bool"
    if type(value) is int:
        return "int"
    if type(value) is float:
        return "double"
    return "string"


def _comparable(left: VarType, right: VarType) -> bool:
    if "dyn" in {left, right} or left == right:
        return True
    return left in _NUMERIC and right in _NUMERIC


class _Checker:
    def __init__(self, types: Mapping[str, VarType], list_names: Collection[str] | None) -> None:
        self._types = types
        self._lists = None if list_names is None else frozenset(list_names)
        self.reasons: list[str] = []

    def _fail(self, reason: str) -> VarType:
        if reason not in self.reasons:
            self.reasons.append(reason)
        return "dyn"  # one mistake is reported once, not again by every enclosing node

    def type_of(self, node: Node) -> VarType:
        if isinstance(node, Lit):
            return _literal_type(node.value)
        if isinstance(node, Var):
            return self._types.get(node.name, "dyn")  # unknown names are reported elsewhere
        if isinstance(node, ListLit):
            for item in node.items:
                self.type_of(item)
            return "list"
        if isinstance(node, Not):
            operand = self.type_of(node.operand)
            if operand not in {"bool", "dyn"}:
                return self._fail(f"'!' needs a bool, got {operand}")
            return "bool"
        if isinstance(node, Logical):
            for side in (node.left, node.right):
                kind = self.type_of(side)
                if kind not in {"bool", "dyn"}:
                    self._fail(f"'{node.op}' needs bool operands, got {kind}")
            return "bool"
        if isinstance(node, Conditional):
            condition = self.type_of(node.condition)
            if condition not in {"bool", "dyn"}:
                self._fail(f"the condition of '? :' must be a bool, got {condition}")
            then, otherwise = self.type_of(node.then), self.type_of(node.otherwise)
            return then if then == otherwise else "dyn"
        if isinstance(node, Binary):
            return self._binary(node)
        return self._call(node)

    def _binary(self, node: Binary) -> VarType:
        left, right = self.type_of(node.left), self.type_of(node.right)
        op = node.op
        if op == "in":
            if right not in {"list", "dyn"}:
                return self._fail(f"'in' needs a list on its right, got {right}")
            return "bool"
        if op in {"==", "!="} or op in _ORDERING:
            if not _comparable(left, right):
                return self._fail(f"'{op}' compares {left} with {right}")
            if op in _ORDERING and left in {"list"}:
                return self._fail(f"'{op}' cannot order lists")
            return "bool"
        if "dyn" in {left, right}:
            return "dyn"
        if left in _NUMERIC and right in _NUMERIC:
            if {left, right} == {"int", "double"}:
                return self._fail(
                    f"'{op}' mixes int and double; CEL does no mixed arithmetic "
                    "(write 7.0 instead of 7, or convert with double(...))"
                )
            if op == "%" and "double" in {left, right}:
                return self._fail("'%' is defined for int only")
            return left if left == right else "number"
        if op == "+" and left == right and left in {"string", "list"}:
            return left
        return self._fail(f"'{op}' is not defined for {left} and {right}")

    def _call(self, node: Call) -> VarType:
        args = [self.type_of(arg) for arg in node.args]
        target = self.type_of(node.target) if node.target is not None else None
        if node.function == "in_list":
            return self._in_list(node, args)
        if node.function == "size":
            subject = target if target is not None else (args[0] if args else "dyn")
            if subject not in {"string", "list", "dyn"}:
                return self._fail(f"size() needs a string or list, got {subject}")
            return "int"
        if node.function in {"contains", "startsWith", "endsWith"}:
            for kind in (target, *args):
                if kind not in {"string", "dyn", None}:
                    self._fail(f"{node.function}() works on strings, got {kind}")
            return "bool"
        return "dyn"

    def _in_list(self, node: Call, args: list[VarType]) -> VarType:
        if node.target is not None or len(node.args) != 2:
            return self._fail('in_list takes two arguments: in_list("list_name", value)')
        name = node.args[0]
        if not isinstance(name, Lit) or type(name.value) is not str:
            return self._fail("in_list needs the list name as a string literal")
        if self._lists is not None and name.value not in self._lists:
            self._fail(f"unknown list '{name.value}'")
        if args[1] not in {"string", "dyn"}:
            self._fail(f"in_list compares strings; the value is {args[1]}")
        return "bool"
