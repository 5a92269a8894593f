"""Compiling rule expressions (CEL) and finding out what they reference.

CEL is not Turing complete, has no side effects and no I/O, and here gets one custom
function, `in_list("list_name", value)` (membership in a named list, read-only): a rule can
only read the variables and lists it is given. It replaces any temptation to run
analyst-written Python.
"""

import re
from dataclasses import dataclass
from typing import Final

import cel

# The named functions of the CEL standard library as the installed implementation ships
# them. Anything else (a typo such as `startswith`, or a cel-go extension such as
# `lowerAscii`) compiles but fails on every evaluation, so the loader refuses it up front.
BUILTIN_FUNCTIONS: Final = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "dyn",
        "type",
        "timestamp",
        "duration",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
        "in_list",  # ours: see riskops.rules.lists
    }
)

# Operators are reported under internal names such as `_+_`, `@in` or `!_`; only names
# that look like identifiers are functions a rule author typed.
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# String literals are blanked before looking for macros so that text inside a literal
# (`"x.exists(a, b)"`) is never mistaken for code.
_STRING_LITERAL: Final = re.compile(
    r'"""[\s\S]*?"""' r"|'''[\s\S]*?'''" r'|"(?:\\.|[^"\\\n])*"' r"|'(?:\\.|[^'\\\n])*'"
)
# `list.exists(x, pred)` binds `x`; the compiler lists it among the referenced variables,
# but it is local to the macro, not an input the caller must supply.
_MACRO_BINDING: Final = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)


@dataclass(frozen=True, slots=True)
class Expression:
    program: cel.Program
    variables: frozenset[str]  # inputs the expression reads (macro-bound names excluded)
    unknown_functions: frozenset[str]  # named functions outside BUILTIN_FUNCTIONS


def compile_expression(source: str) -> Expression:
    """Compile `source`; raises ValueError with the parser's message on a syntax error."""
    program = cel.compile(source)
    bound = set(_MACRO_BINDING.findall(_STRING_LITERAL.sub('""', source)))
    functions = {name for name in program.functions() if _IDENTIFIER.fullmatch(name)}
    return Expression(
        program=program,
        variables=frozenset(program.variables()) - bound,
        unknown_functions=frozenset(functions - BUILTIN_FUNCTIONS),
    )
