"""The hot path: a ruleset generated into one Python function, with the closures as fallback.

Each rule becomes one inline Python expression that is exact when nothing unusual happens
(every variable present, of the type the expression uses it as, no overflow, no division).
Anything else, whether a missing variable, a string where a number was meant, NaN, an
overflow, raises inside that rule's `try`, and the rule is evaluated again by its closure
tree (compiler.py), which implements CEL's semantics in full, errors included. Rules have
no side effects, so running one twice is safe; errors are rare, so the second run is too.

Why generate code: a closure tree pays a Python call per node (14 shipped rules, ~75 calls a
decision); one generated function pays none, which is what keeps 200 rules well under the
0.2 ms budget.
"""

import itertools
from collections.abc import Callable, Sequence
from typing import Final

from riskops.rules.compiler import Compiled
from riskops.rules.lists import ListSnapshot
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
    Var,
)

# (env, lists, hits, slow): appends hits in order and calls slow(i) for rule i when its
# generated expression cannot answer exactly.
Generated = Callable[[object, ListSnapshot, list[object], Callable[[int], None]], None]

_ORDERING: Final = frozenset({"<", "<=", ">", ">="})


class _Deopt(Exception):
    pass


def _deopt() -> object:
    raise _Deopt


class _Writer:
    """Turns one tree into a Python expression string and the kind of value it yields."""

    def __init__(self, constants: dict[str, object], closures: Callable[[Node], str]) -> None:
        self._constants = constants
        self._closure = closures
        self._temps = itertools.count()

    def _temp(self) -> str:
        return f"_t{next(self._temps)}"

    def _const(self, value: object) -> str:
        name = f"_k{len(self._constants)}"
        self._constants[name] = value
        return name

    def guard(self, source: str, kind: str, want: str) -> str:
        # Kinds: "int" is a range-checked int, "double" a float literal (never NaN), "float"
        # a computed float (maybe NaN), "str", "bool", "any" (unchecked).
        if kind == want or (kind == "double" and want in {"float", "num"}):
            return source
        if kind == "int" and want == "num":
            return source
        t = self._temp()
        if want == "str":
            return f"({t} if type({t} := {source}) is str else _d())"
        if want == "bool":
            return f"({t} if type({t} := {source}) is bool else _d())"
        if want == "int":
            return f"({t} if type({t} := {source}) is int and _LO <= {t} <= _HI else _d())"
        if want == "float":
            return f"({t} if type({t} := {source}) is float else _d())"
        # num: an int in range or a double that is not NaN (NaN has no order in CEL)
        k = self._temp()
        return (
            f"({t} if ({k} := type({t} := {source})) is int and _LO <= {t} <= _HI"
            f" or {k} is float and {t} == {t} else _d())"
        )

    def write(self, node: Node) -> tuple[str, str]:
        if isinstance(node, Lit):
            value = node.value
            kind = {bool: "bool", int: "int", float: "double", str: "str"}[type(value)]
            return repr(value), kind
        if isinstance(node, Var):
            return f"env[{node.name!r}]", "any"
        if isinstance(node, Not):
            source, kind = self.write(node.operand)
            return f"(not {self.guard(source, kind, 'bool')})", "bool"
        if isinstance(node, Logical):
            left, right = self.write(node.left), self.write(node.right)
            word = "or" if node.op == "||" else "and"
            return (
                f"({self.guard(*left, 'bool')} {word} {self.guard(*right, 'bool')})",
                "bool",
            )
        if isinstance(node, Conditional):
            condition = self.guard(*self.write(node.condition), "bool")
            then, then_kind = self.write(node.then)
            otherwise, other_kind = self.write(node.otherwise)
            kind = then_kind if then_kind == other_kind else "any"
            return f"({then} if {condition} else {otherwise})", kind
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            return self._call(node)
        return self._closure(node), "any"

    def _binary(self, node: Binary) -> tuple[str, str]:
        if node.op == "in":
            items = node.right.items if isinstance(node.right, ListLit) else ()
            if items and all(isinstance(i, Lit) and type(i.value) is str for i in items):
                strings = self._const(frozenset(i.value for i in items if isinstance(i, Lit)))
                needle = self.guard(*self.write(node.left), "str")
                return f"({needle} in {strings})", "bool"
            return self._closure(node), "any"
        left, left_kind = self.write(node.left)
        right, right_kind = self.write(node.right)
        kinds = {left_kind, right_kind}
        if node.op in {"==", "!="} or node.op in _ORDERING:
            if "str" in kinds:
                want = "str"
            elif kinds & {"int", "float", "double"}:
                want = "num"
            else:  # two variables: the types decide the semantics; the closure knows them
                return self._closure(node), "any"
            a, b = self.guard(left, left_kind, want), self.guard(right, right_kind, want)
            return f"({a} {node.op} {b})", "bool"
        if node.op in {"+", "-", "*"}:
            floats = kinds & {"float", "double"}
            if "int" in kinds and not floats:
                a, b = self.guard(left, left_kind, "int"), self.guard(right, right_kind, "int")
                t = self._temp()
                return f"({t} if _LO <= ({t} := {a} {node.op} {b}) <= _HI else _d())", "int"
            if floats and "int" not in kinds:
                a = self.guard(left, left_kind, "float")
                b = self.guard(right, right_kind, "float")
                return f"({a} {node.op} {b})", "float"
        return self._closure(node), "any"

    def _call(self, node: Call) -> tuple[str, str]:
        args = [self.write(arg) for arg in node.args]
        if node.function == "in_list" and node.target is None and len(args) == 2:
            name = node.args[0]
            if isinstance(name, Lit) and type(name.value) is str:
                value = self.guard(*args[1], "str")
                return f"lists.contains({name.value!r}, {value})", "bool"
        if node.function == "size" and len(args) + (node.target is not None) == 1:
            subject = self.write(node.target) if node.target is not None else args[0]
            return f"len({self.guard(*subject, 'str')})", "int"
        methods = {"contains": "__contains__", "startsWith": "startswith", "endsWith": "endswith"}
        if node.function in methods and node.target is not None and len(args) == 1:
            target = self.guard(*self.write(node.target), "str")
            argument = self.guard(*args[0], "str")
            return f"{target}.{methods[node.function]}({argument})", "bool"
        return self._closure(node), "any"


def generate(
    trees: Sequence[Node | None],
    hits: Sequence[object],
    compile_node: Callable[[Node], Compiled],
) -> Generated:
    """One function evaluating `trees` in order, appending `hits[i]` when rule i is true;
    a None tree marks a rule only `slow` can evaluate."""
    constants: dict[str, object] = {
        "_LO": INT64_MIN,
        "_HI": INT64_MAX,
        "_d": _deopt,
        "_H": tuple(hits),
    }

    def closure(node: Node) -> str:
        # Sub-expressions the generator does not specialise run as their exact closure; its
        # errors propagate like any other, so the rule then goes the slow way as a whole.
        name = f"_c{len(constants)}"
        constants[name] = compile_node(node)
        return f"{name}(env, lists)"

    lines = ["def _evaluate(env, lists, hits, slow):", "    append = hits.append"]
    for index, tree in enumerate(trees):
        if tree is None:
            lines.append(f"    slow({index})")
            continue
        writer = _Writer(constants, closure)
        condition = writer.guard(*writer.write(tree), "bool")
        lines += [
            "    try:",
            f"        if {condition}:",
            f"            append(_H[{index}])",
            "    except Exception:",
            f"        slow({index})",
        ]
    namespace: dict[str, object] = dict(constants)
    exec(compile("\n".join(lines), "<ruleset>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["_evaluate"]  # type: ignore[return-value]
