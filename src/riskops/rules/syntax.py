"""A parser for the subset of CEL our rules use, into a small typed tree.

CEL's own parser (the `cel` library) stays the judge of what is valid: the engine asks it
first, then this parser. Whatever this parser does not know (macros, maps, uint and bytes
literals, raw or triple-quoted strings, indexing, null) raises `Unsupported`, and that rule
is evaluated by the `cel` library instead; so this subset can grow one construct at a time.
"""

import re
from dataclasses import dataclass
from typing import Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


class Unsupported(Exception):
    """The expression uses CEL outside the compiled subset."""


Literal = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Lit:
    value: Literal


@dataclass(frozen=True, slots=True)
class Var:
    name: str


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Node"


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of + - * / % == != < <= > >= in
    left: "Node"
    right: "Node"


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # && or ||
    left: "Node"
    right: "Node"


@dataclass(frozen=True, slots=True)
class Conditional:
    condition: "Node"
    then: "Node"
    otherwise: "Node"


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    target: "Node | None"  # the receiver of a method call: `s.startsWith("x")`
    args: tuple["Node", ...]


Node = Lit | Var | ListLit | Not | Binary | Logical | Conditional | Call

_TOKEN: Final = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<double>(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+))
    |(?P<int>0[xX][0-9a-fA-F]+[uU]?|\d+[uU]?)
    |(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]{}])
    """,
    re.VERBOSE,
)
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_RESERVED: Final = frozenset({"null", "in", "as", "break", "const", "continue", "else"})
_RELATIONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})


def parse(source: str) -> Node:
    """Parse `source` (already accepted by CEL's parser); raises Unsupported outside the subset."""
    return _Parser(_tokens(source)).expression_only()


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.lastgroup is None:
            raise Unsupported(f"unexpected character at {position}")
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
    tokens.append(("end", ""))
    return tokens


def _string(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars)
        if escaped not in _ESCAPES:  # octal, hex and unicode escapes: left to CEL
            raise Unsupported(f"escape \\{escaped}")
        out.append(_ESCAPES[escaped])
    return "".join(out)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._at = 0

    def expression_only(self) -> Node:
        node = self._conditional()
        if self._peek() != ("end", ""):
            raise Unsupported(f"unexpected {self._peek()[1]!r}")
        return node

    def _peek(self) -> tuple[str, str]:
        return self._tokens[self._at]

    def _accept(self, text: str) -> bool:
        kind, value = self._tokens[self._at]
        if value == text and kind in {"op", "ident"}:
            self._at += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._accept(text):
            raise Unsupported(f"expected {text!r}")

    def _conditional(self) -> Node:
        condition = self._or()
        if self._accept("?"):
            then = self._or()
            self._expect(":")
            return Conditional(condition, then, self._conditional())
        return condition

    def _or(self) -> Node:
        node = self._and()
        while self._accept("||"):
            node = Logical("||", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._relation()
        while self._accept("&&"):
            node = Logical("&&", node, self._relation())
        return node

    def _relation(self) -> Node:
        node = self._additive()
        while self._peek()[1] in _RELATIONS:
            op = self._peek()[1]
            self._at += 1
            node = Binary(op, node, self._additive())
        return node

    def _additive(self) -> Node:
        node = self._multiplicative()
        while self._peek()[1] in {"+", "-"} and self._peek()[0] == "op":
            op = self._peek()[1]
            self._at += 1
            node = Binary(op, node, self._multiplicative())
        return node

    def _multiplicative(self) -> Node:
        node = self._unary()
        while self._peek()[1] in {"*", "/", "%"}:
            op = self._peek()[1]
            self._at += 1
            node = Binary(op, node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._accept("!"):
            return Not(self._unary())
        if self._accept("-"):
            # Only negative literals are compiled: CEL folds them into the literal (so
            # -9223372036854775808 is valid), and its negation of a computed value wraps
            # on overflow instead of failing, which this subset will not imitate.
            operand = self._member()
            if isinstance(operand, Lit) and type(operand.value) in {int, float}:
                value = -operand.value  # type: ignore[operator]
                if type(value) is int and value < INT64_MIN:
                    raise Unsupported("integer literal out of range")
                return Lit(value)
            raise Unsupported("negation of a computed value")
        return self._member()

    def _member(self) -> Node:
        node = self._primary()
        while True:
            if self._accept("."):
                kind, name = self._peek()
                if kind != "ident":
                    raise Unsupported("field selection")
                self._at += 1
                if not self._accept("("):
                    raise Unsupported("field selection")
                node = Call(name, node, self._arguments(")"))
            elif self._peek() == ("op", "["):
                raise Unsupported("indexing")
            else:
                return node

    def _arguments(self, closing: str) -> tuple[Node, ...]:
        args: list[Node] = []
        if self._accept(closing):
            return ()
        while True:
            args.append(self._conditional())
            if self._accept(closing):
                return tuple(args)
            self._expect(",")
            if self._accept(closing):  # CEL allows a trailing comma in lists
                return tuple(args)

    def _primary(self) -> Node:
        kind, text = self._peek()
        self._at += 1
        if kind == "int":
            if text[-1] in "uU":
                raise Unsupported("uint literal")
            value = int(text, 0)
            if value > INT64_MAX + 1:
                raise Unsupported("integer literal out of range")
            return Lit(value)
        if kind == "double":
            return Lit(float(text))
        if kind == "string":
            return Lit(_string(text))
        if kind == "ident":
            if text in {"true", "false"}:
                return Lit(text == "true")
            if text in _RESERVED:
                raise Unsupported(text)
            if self._accept("("):
                return Call(text, None, self._arguments(")"))
            return Var(text)
        if text == "(":
            node = self._conditional()
            self._expect(")")
            return node
        if text == "[":
            return ListLit(self._arguments("]"))
        raise Unsupported(f"unexpected {text!r}")
