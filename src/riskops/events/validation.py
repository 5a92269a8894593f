"""A compiled validator for the JSON Schema subset our event contracts use.

The reference validator (jsonschema) costs ~400 us per RiskAssessed event, more than the
decision that produced it; compiling the schema once into nested closures costs a few us.
It accepts exactly the keywords in docs/events/ (anything else is refused at compile time), and
a differential test holds it to jsonschema's verdicts. `format` is an annotation here, as in
jsonschema by default.
"""

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any, str], str | None]  # (value, path) -> error message or None
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "title",
        "description",
        "examples",
        "default",
        "writeOnly",
        "format",
        "$defs",
    }
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
}


class SchemaError(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: 1 == 1.0, but True is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], str | None]:
    """Compile `schema`; the result returns None for a valid document, else the first error."""
    root = schema

    def build(node: dict[str, Any]) -> Check:
        checks: list[Check] = []
        unknown = set(node) - ANNOTATIONS - set(_BUILDERS)
        if unknown:
            raise SchemaError(f"unsupported keywords {sorted(unknown)}")
        for keyword, builder in _BUILDERS.items():
            if keyword in node:
                checks.append(builder(node, build, root))

        def check(value: Any, path: str) -> str | None:
            for one in checks:
                error = one(value, path)
                if error is not None:
                    return error
            return None

        return check

    compiled = build(schema)
    return lambda document: compiled(document, "(root)")


Build = Callable[[dict[str, Any]], Check]


def _type(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    names = node["type"] if isinstance(node["type"], list) else [node["type"]]
    tests = [_TYPES[n] for n in names]
    return lambda v, p: None if any(t(v) for t in tests) else f"{p}: not of type {names}"


def _const(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    want = node["const"]
    return lambda v, p: None if _equal(v, want) else f"{p}: must be {want!r}"


def _enum(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    options = node["enum"]
    return lambda v, p: None if any(_equal(v, o) for o in options) else f"{p}: not one of {options}"


def _pattern(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    regex = re.compile(node["pattern"])
    return lambda v, p: (
        None
        if not isinstance(v, str) or regex.search(v)
        else f"{p}: does not match {regex.pattern}"
    )


def _length(keyword: str, ok: Callable[[int, int], bool]) -> Callable[..., Check]:
    def builder(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
        bound = node[keyword]
        return lambda v, p: (
            None if not isinstance(v, str) or ok(len(v), bound) else f"{p}: {keyword} {bound}"
        )

    return builder


def _bound(keyword: str, ok: Callable[[float, float], bool]) -> Callable[..., Check]:
    def builder(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
        bound = node[keyword]

        def check(v: Any, p: str) -> str | None:
            if isinstance(v, bool) or not isinstance(v, int | float):
                return None
            return None if ok(v, bound) else f"{p}: {keyword} {bound}"

        return check

    return builder


def _required(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    names = node["required"]

    def check(v: Any, p: str) -> str | None:
        if not isinstance(v, dict):
            return None
        missing = [n for n in names if n not in v]
        return f"{p}: missing {missing}" if missing else None

    return check


def _properties(node: dict[str, Any], build: Build, _: dict[str, Any]) -> Check:
    children = {name: build(sub) for name, sub in node["properties"].items()}
    closed = node.get("additionalProperties") is False

    def check(v: Any, p: str) -> str | None:
        if not isinstance(v, dict):
            return None
        for name, value in v.items():
            child = children.get(name)
            if child is None:
                if closed:
                    return f"{p}: unexpected property {name!r}"
                continue
            error = child(value, f"{p}/{name}" if p != "(root)" else name)
            if error is not None:
                return error
        return None

    return check


def _additional(node: dict[str, Any], _: Build, __: dict[str, Any]) -> Check:
    if node["additionalProperties"] is not False or "properties" not in node:
        raise SchemaError("additionalProperties is only supported as false beside properties")
    return lambda v, p: None  # enforced by _properties


def _items(node: dict[str, Any], build: Build, _: dict[str, Any]) -> Check:
    child = build(node["items"])

    def check(v: Any, p: str) -> str | None:
        if not isinstance(v, list):
            return None
        for index, item in enumerate(v):
            error = child(item, f"{p}/{index}")
            if error is not None:
                return error
        return None

    return check


def _any_of(node: dict[str, Any], build: Build, _: dict[str, Any]) -> Check:
    options = [build(sub) for sub in node["anyOf"]]

    def check(v: Any, p: str) -> str | None:
        errors = [option(v, p) for option in options]
        return (
            None if any(e is None for e in errors) else f"{p}: matches none of anyOf ({errors[0]})"
        )

    return check


def _ref(node: dict[str, Any], build: Build, root: dict[str, Any]) -> Check:
    reference = node["$ref"]
    if not reference.startswith("#/$defs/"):
        raise SchemaError(f"only local $defs references are supported, not {reference}")
    return build(root["$defs"][reference.removeprefix("#/$defs/")])


_BUILDERS: dict[str, Callable[[dict[str, Any], Build, dict[str, Any]], Check]] = {
    "$ref": _ref,
    "type": _type,
    "const": _const,
    "enum": _enum,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "anyOf": _any_of,
    "pattern": _pattern,
    "minLength": _length("minLength", lambda n, b: n >= b),
    "maxLength": _length("maxLength", lambda n, b: n <= b),
    "minimum": _bound("minimum", lambda v, b: v >= b),
    "maximum": _bound("maximum", lambda v, b: v <= b),
    "exclusiveMinimum": _bound("exclusiveMinimum", lambda v, b: v > b),
}
