"""The compiled closures against the cel library: same hits, same error types, always.

Every case runs twice, once through the compiled path and once with `compiled=False` (every
rule through the `cel` library), and the two results must be equal. The table covers every
operator the compiler handles, with absent fields, type errors, overflow and zero division;
the randomised part replays feature vectors over the shipped ruleset plus generated rules.
"""

import random

import pytest

from riskops.rules import (
    ListKind,
    ListSnapshot,
    RuleEvaluation,
    RulesEngine,
    load_default_ruleset,
)
from tests.rules.support import known_variables, quiet_variables, rule, ruleset

LISTS = ListSnapshot.build(
    {
        "blocked_cards": (ListKind.CARD, {"tok_bad"}),
        "blocked_ips": (ListKind.IP, {"203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"}),
        "trusted_merchants": (ListKind.MERCHANT, {"mer_good"}),
    }
)

VARIABLES: dict[str, object] = {
    "i": 7,
    "j": -3,
    "z": 0,
    "big": 2**62,
    "max": 2**63 - 1,
    "min": -(2**63),
    "d": 2.5,
    "dz": 0.0,
    "nan": float("nan"),
    "s": "abc",
    "e": "",
    "t": True,
    "f": False,
    "tok": "tok_bad",
    "ip4": "203.0.113.9",
    "ip6": "2001:db8::1",
    "ipx": "not-an-ip",
    "none": None,
    "huge": 2**64,
}

EXPRESSIONS = [
    # comparisons, int/double/string/bool, across types
    *(
        f"{a} {op} {b}"
        for op in ("==", "!=", "<", "<=", ">", ">=")
        for a, b in [
            ("i", "7"),
            ("i", "7.0"),
            ("d", "2"),
            ("d", "2.5"),
            ("s", '"abc"'),
            ("s", "1"),
            ("t", "true"),
            ("t", "1"),
            ("i", "j"),
            ("d", "i"),
            ("s", "e"),
            ("t", "f"),
            ("nan", "1.0"),
            ("nan", "nan"),
            ("max", "9223372036854775807"),
            ("min", "-1"),
        ]
    ),
    # arithmetic: overflow, zero division, truncation, no mixing
    *(
        f"{a} {op} {b} {cmp} 0"
        for op in ("+", "-", "*", "/", "%")
        for cmp in (">", "==")
        for a, b in [
            ("i", "j"),
            ("j", "i"),
            ("i", "z"),
            ("big", "4"),
            ("max", "1"),
            ("min", "-1"),
            ("min", "1"),
            ("d", "2.0"),
            ("d", "dz"),
            ("i", "d"),
            ("s", "s"),
            ("s", "i"),
            ("t", "t"),
        ]
    ),
    's + "x" == "abcx"',
    "-7 / 2 == -3",
    "-7 % 2 == -1",
    "7 % -2 == 1",
    "-0.0 / 0.0 > 1.0",
    "1.0 / dz > 1.0",
    "-1.0 / dz < 0.0",
    "dz / dz == dz / dz",
    # logic with error absorption, in both orders
    *(
        f"{a} {op} {b}"
        for op in ("&&", "||")
        for a, b in [
            ("t", "f"),
            ("f", "t"),
            ("missing > 1", "t"),
            ("t", "missing > 1"),
            ("missing > 1", "f"),
            ("f", "missing > 1"),
            ("i / z > 1", "t"),
            ("t", "i / z > 1"),
            ("i", "t"),
            ("t", "i"),
            ("i", "f"),
            ("f", "i"),
            ("missing > 1", "i"),
            ("i", "missing > 1"),
            ("s > 1", "missing > 1"),
            ("missing > 1", "s > 1"),
            ("i / z > 1", "missing > 1"),
        ]
    ),
    "!t",
    "!f",
    "!i",
    "!(i > 1)",
    "!!t",
    # ternary
    "t ? i > 1 : s > 1",
    "f ? i > 1 : s > 1",
    "i ? t : f",
    "(i > 1 ? d : s) == 2.5",
    "missing > 1 ? t : f",
    # membership
    's in ["abc", "x"]',
    'i in ["abc", "x"]',
    "i in [1, 7]",
    "d in [2, 2.5]",
    "i in [7.0]",
    "t in [1, true]",
    'e in [""]',
    "i in [j, 7]",
    "missing in [1]",
    # strings
    's.startsWith("ab")',
    's.endsWith("bc")',
    's.contains("b")',
    "size(s) == 3",
    "s.size() == 3",
    'e.contains("")',
    "size(i) == 1",
    "s.contains(i)",
    # lists by name
    'in_list("blocked_cards", tok)',
    'in_list("blocked_cards", s)',
    'in_list("blocked_ips", ip4)',
    'in_list("blocked_ips", ip6)',
    'in_list("blocked_ips", ipx)',
    'in_list("blocked_ips", "198.51.100.7")',
    'in_list("blocked_ips", "198.51.100.8")',
    'in_list("blocked_ips", e)',
    'in_list("nope", s)',
    'in_list("blocked_cards", i)',
    '!in_list("trusted_merchants", "mer_good") || t',
    # absent and odd values, non-boolean results
    "missing > 1",
    "none == 1",
    "none > 1",
    "huge > 1",
    "i",
    "s",
    "i + 1",
    "t && none == 1",
    # outside the compiled subset: must still agree (the cel library evaluates both)
    "[1, 2].exists(x, x > i)",
    's.matches("^a")',
    "int(d) == 2",
    "-i < 0",
    "{'a': 1}['a'] == 1",
    "1u == uint(1)",
]


def outcome(evaluation: RuleEvaluation) -> tuple[list[str], list[tuple[str, str]]]:
    return (
        [hit.rule_id for hit in evaluation.hits],
        [(error.rule_id, error.error_type.value) for error in evaluation.errors],
    )


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_every_operator_matches_cel(expression: str) -> None:
    rules = ruleset(rule("r", expression))
    compiled = RulesEngine(rules, LISTS).evaluate(VARIABLES)
    reference = RulesEngine(rules, LISTS, compiled=False).evaluate(VARIABLES)

    assert outcome(compiled) == outcome(reference)


def test_the_table_exercises_the_compiled_path() -> None:
    # A table evaluated by the cel library on both sides would prove nothing.
    interpreted = [e for e in EXPRESSIONS if RulesEngine(ruleset(rule("r", e)), LISTS).interpreted]

    assert len(interpreted) == 6, interpreted


def test_the_shipped_ruleset_is_fully_compiled() -> None:
    engine = RulesEngine(load_default_ruleset(known_variables()))

    assert engine.interpreted == frozenset()


def _random_vector(rng: random.Random) -> dict[str, object]:
    variables = quiet_variables()
    for name, value in list(variables.items()):
        roll = rng.random()
        if roll < 0.03:
            del variables[name]  # absent
        elif isinstance(value, bool) or not isinstance(value, int | float):
            if roll < 0.3:
                variables[name] = rng.choice(["", "atm", "ecom", "pos", "IR", "6011", "x"])
        elif roll < 0.5:
            scale = rng.choice([1, 5, 20, 100, 10_000, 2**40, 2**62])
            number = rng.randint(-1, scale)
            variables[name] = float(number) if isinstance(value, float) else number
        elif roll < 0.52:
            variables[name] = "oops"  # a string where a number belongs: type errors
    variables["card_token"] = rng.choice(["tok_bad", "tok_ok"])
    variables["ip"] = rng.choice(["", "203.0.113.4", "10.0.0.1", "2001:db8::9"])
    variables["merchant_id"] = rng.choice(["mer_good", "mer_city_power", "mer_other"])
    return variables


GENERATED = [
    "card_count_1h * 7 > card_count_7d * 3",
    "card_count_1h * card_count_7d * card_count_30d > 0",
    "card_amount_sum_1h / card_count_1h >= 1000",
    "card_amount_sum_1h % card_count_5m == 0",
    "amount_minor - card_amount_sum_24h < 0 || card_amount_mean_1h > 100.0",
    "card_amount_mean_1h / card_amount_mean_7d > 2.0",
    'channel == "atm" ? card_count_1h >= 3 : amount_minor > 5000',
    '!(merchant_country in ["IR", "KP"]) && in_list("blocked_ips", ip)',
    'in_list("blocked_cards", card_token) || in_list("trusted_merchants", merchant_id)',
]


def test_random_vectors_match_cel_over_the_shipped_ruleset() -> None:
    shipped = load_default_ruleset(known_variables())
    extra = [rule(f"generated_{n}", e) for n, e in enumerate(GENERATED)]
    rules = ruleset(*shipped.rules, *extra)
    compiled = RulesEngine(rules, LISTS)
    reference = RulesEngine(rules, LISTS, compiled=False)
    rng = random.Random(20261202)
    hits = errors = 0
    for _ in range(3000):
        variables = _random_vector(rng)
        got = outcome(compiled.evaluate(variables))
        expected = outcome(reference.evaluate(variables))
        assert got == expected, variables
        hits += len(got[0])
        errors += len(got[1])
    # Both hits and errors must be common, or the comparison proves little.
    assert hits > 1000 and errors > 1000, (hits, errors)
