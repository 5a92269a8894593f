"""What an expression reads: free variables and the functions it calls."""

import pytest

from riskops.rules.expressions import compile_expression

CASES = [
    pytest.param("amount_minor > 100", {"amount_minor"}, set(), id="plain"),
    pytest.param('channel in ["pos", "atm"] && is_night == 1', {"channel", "is_night"}, set()),
    pytest.param(
        '["4111", "5500"].exists(p, card_bin.startsWith(p))', {"card_bin"}, set(), id="macro"
    ),
    pytest.param("[1, 2].map(x, x * hour_of_day)", {"hour_of_day"}, set(), id="map-macro"),
    # Text inside a literal that looks like a macro binds nothing.
    pytest.param('"a.exists(ip, true)" == ip', {"ip"}, set(), id="literal"),
    pytest.param("size(merchant_id) > 3 && int(currency) > 0", {"merchant_id", "currency"}, set()),
    pytest.param(
        "abs(amount_minor) > 1 && ip.lowerAscii() == ''",
        {"amount_minor", "ip"},
        {"abs", "lowerAscii"},
        id="unknown-functions",
    ),
]


@pytest.mark.parametrize(("source", "variables", "unknown_functions"), CASES)
def test_references(source: str, variables: set[str], unknown_functions: set[str]) -> None:
    expression = compile_expression(source)

    assert expression.variables == variables
    assert expression.unknown_functions == unknown_functions


@pytest.mark.parametrize("source", ["", "amount_minor >", "a &&& b", "'unterminated"])
def test_syntax_errors_raise_value_error(source: str) -> None:
    with pytest.raises(ValueError, match="parse"):
        compile_expression(source)
