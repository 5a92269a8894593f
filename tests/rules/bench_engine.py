"""Micro-benchmark of RulesEngine.evaluate on the default ruleset (run by hand, not a test).

    .venv/bin/python -m tests.rules.bench_engine

Also times the two ways of feeding CEL the engine does not use, so the choice stays
measured: a fresh dict per program (CEL converts every value again for every rule) and
one Context holding the whole vector (converts values no rule reads).
"""

import statistics
import time
from collections.abc import Callable

import cel

from riskops.rules import RulesEngine, load_default_ruleset
from tests.rules.support import known_variables, quiet_variables


def per_call_us(run: Callable[[], object], calls: int, repeats: int = 9) -> tuple[float, float]:
    """(fastest, median) microseconds per call over `repeats` timed batches.

    The fastest batch is the best estimate of the code's own cost on a shared machine;
    the median shows what neighbours' load adds.
    """
    for _ in range(calls // 10):
        run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return min(samples), statistics.median(samples)


def main() -> None:
    engine = RulesEngine(load_default_ruleset(known_variables()))
    variables = quiet_variables()
    risky = quiet_variables(card_count_5m=7, card_amount_mean_5m=150.0, merchant_country="IR")
    programs = [cel.compile(rule.expression) for rule in engine.ruleset.rules]

    def dict_per_program() -> None:
        for program in programs:
            program.execute(variables)

    def whole_vector_context() -> None:
        context = cel.Context(variables=variables)
        for program in programs:
            program.execute(context)

    cases: list[tuple[str, Callable[[], object], int]] = [
        ("evaluate(), no hits", lambda: engine.evaluate(variables), 20000),
        ("evaluate(), two hits", lambda: engine.evaluate(risky), 20000),
        ("one Context, whole vector", whole_vector_context, 5000),
        ("fresh dict per program", dict_per_program, 500),
    ]
    rules, read = len(engine.ruleset.rules), len(engine.variables)
    print(f"default ruleset: {rules} rules reading {read} of {len(variables)} variables")
    print(f"{'':27} {'fastest':>9} {'median':>9}")
    for label, run, calls in cases:
        fastest, median = per_call_us(run, calls)
        print(f"{label:27} {fastest:6.1f} us {median:6.1f} us")


if __name__ == "__main__":
    main()
