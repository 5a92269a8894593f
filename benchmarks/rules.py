"""Rule evaluation per decision: the shipped ruleset, 200 rules, and a 100,000-entry list.

Each figure is microseconds per `RulesEngine.evaluate` call (fastest and median of several
timed batches: the fastest is the code's own cost, the median what a busy machine adds),
for the compiled closures and for the cel library alone (`compiled=False`, the reference
the closures are tested against). Target: 200 rules add at most 200 us per decision.

    .venv/bin/python benchmarks/rules.py [--calls 5000]
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from riskops.features import FEATURE_NAMES
from riskops.rules import (
    ListKind,
    ListSnapshot,
    Rule,
    RuleAction,
    RulesEngine,
    Ruleset,
    Severity,
    load_default_ruleset,
    transaction_variable_names,
)
from riskops.rules.lists import SHIPPED_LISTS

KNOWN = [*FEATURE_NAMES, *transaction_variable_names()]


def per_call_us(run: Callable[[], object], calls: int, repeats: int = 7) -> tuple[float, float]:
    for _ in range(max(1, calls // 10)):
        run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return min(samples), statistics.median(samples)


def quiet_vector() -> dict[str, object]:
    """An unremarkable daytime payment on an established card: no shipped rule fires."""
    variables: dict[str, object] = {}
    for name in FEATURE_NAMES:
        fractional = "mean" in name or "rate" in name or name.startswith("amount_to")
        variables[name] = 3900.0 if fractional else 1
    variables.update(
        amount_minor=4250,
        currency="USD",
        merchant_id="mer_corner_grocer",
        merchant_category="5411",
        merchant_country="US",
        channel="pos",
        card_bin="411111",
        device_id="dev_7f3a",
        ip="198.51.100.23",
        user_id="usr_1024",
        card_token="tok_quiet",
    )
    return variables


_TEMPLATES = (
    "{entity}_count_{window} >= {n} && amount_minor >= {amount}",
    '{entity}_amount_mean_{window} > {amount}.0 && channel == "ecom"',
    "{entity}_count_{window} * 7 > {entity}_count_7d * {n}",
    'merchant_country in ["CU", "IR", "KP", "SY"] && amount_minor > {amount}',
    'in_list("blocked_cards", card_token) && amount_minor > {amount}',
    'in_list("blocked_ips", ip) || device_id == "dev_{n}"',
)


def two_hundred_rules(shipped: Ruleset) -> Ruleset:
    """The shipped rules plus generated ones in the same style, 200 in all."""
    rng = random.Random(7)
    rules = list(shipped.rules)
    while len(rules) < 200:
        expression = rng.choice(_TEMPLATES).format(
            entity=rng.choice(["card", "account", "device", "merchant"]),
            window=rng.choice(["5m", "1h", "24h", "7d"]),
            n=rng.randint(2, 40),
            amount=rng.randint(1000, 90000),
        )
        rules.append(
            Rule(
                id=f"generated_{len(rules)}",
                name="generated",
                description="benchmark rule",
                expression=expression,
                action=RuleAction.REVIEW,
                reason_code="GENERATED",
                severity=Severity.MEDIUM,
            )
        )
    return Ruleset(version="bench-200", rules=tuple(rules))


def big_lists(entries: int) -> ListSnapshot:
    """Every shipped list, with `entries` card tokens and `entries` IP networks."""
    rng = random.Random(11)
    tokens = {f"{rng.getrandbits(256):064x}" for _ in range(entries)}
    networks = set()
    for index in range(entries):
        address = rng.getrandbits(32)
        length = (32, 24, 16)[index % 3]
        networks.add(f"{address >> (32 - length) << (32 - length):d}/{length}")
    lists: dict[str, tuple[ListKind, set[str]]] = {s.name: (s.kind, set()) for s in SHIPPED_LISTS}
    lists["blocked_cards"] = (ListKind.CARD, tokens)
    lists["blocked_ips"] = (ListKind.IP, {_dotted(n) for n in networks})
    return ListSnapshot.build(lists)


def _dotted(network: str) -> str:
    address, length = network.split("/")
    number = int(address)
    return ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0)) + f"/{length}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    shipped = load_default_ruleset(KNOWN)
    many = two_hundred_rules(shipped)
    empty = ListSnapshot.shipped_empty()
    started = time.perf_counter()
    big = big_lists(args.entries)
    built_s = time.perf_counter() - started
    variables = quiet_vector()
    nothing = Ruleset(version="none", rules=())
    cases = [
        ("no rules (engine overhead)", RulesEngine(nothing, empty), None),
        (
            "shipped ruleset",
            RulesEngine(shipped, empty),
            RulesEngine(shipped, empty, compiled=False),
        ),
        ("200 rules", RulesEngine(many, empty), RulesEngine(many, empty, compiled=False)),
        (
            f"200 rules, {args.entries:,}-entry lists",
            RulesEngine(many, big),
            RulesEngine(many, big, compiled=False),
        ),
    ]
    table = Table(title="rules: us per decision (fastest / median)")
    for column in ("case", "rules", "compiled", "cel library", "speed-up"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for label, engine, reference in cases:
        fast, fast_median = per_call_us(lambda e=engine: e.evaluate(variables), args.calls)
        if reference is None:
            cel_text, ratio = "-", "-"
        else:
            calls = max(100, args.calls // 20)
            slow, slow_median = per_call_us(lambda e=reference: e.evaluate(variables), calls)
            cel_text, ratio = f"{slow:.1f} / {slow_median:.1f}", f"{slow / fast:.1f}x"
        rules = len(engine.ruleset.rules)
        table.add_row(label, str(rules), f"{fast:.1f} / {fast_median:.1f}", cel_text, ratio)
    console = Console()
    console.print(table)
    console.print(
        f"{args.entries:,} card tokens and {args.entries:,} IP networks "
        f"indexed in {built_s:.2f} s; in_list stays O(1): compare the last two rows."
    )


if __name__ == "__main__":
    main()
