"""Architecture rules of issue 8 that a test can hold: who imports whom, who commits, who wires.

Each test walks the source with `ast` (nothing is imported), so a rule broken anywhere in
`src/riskops` fails here with the file and line that broke it.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "riskops"

# The domain packages: each owns its concept; the event plumbing serves them all.
DOMAINS = (
    "analytics",
    "auth",
    "cases",
    "decisions",
    "entities",
    "features",
    "investigations",
    "labels",
    "ledger",
    "ml",
    "rules",
    "similarity",
    "simulation",
    "web",
)
# The composition root and the entry points built on it.
ROOT = ("riskops.runtime", "riskops.app", "riskops.demo", "riskops.cli")
# Commands: they build a runtime and run one job with it.
COMMANDS = {
    "app.py",
    "cli.py",
    "demo.py",
    "events/cli.py",
    "labels/cli.py",
    "ml/cli.py",
    "similarity/cli.py",
    "simulation/cli.py",
}
# `riskops backfill` drives the runtime's pipeline and label service directly;
COMMAND_HELPERS = {"ml/backfill.py", "processes/worker.py"}  # `riskops worker` builds one
# The write-connection dependency: the one place a request's transaction begins and commits.
REQUEST_TRANSACTION = ("api/deps.py", "write_connection")


def modules() -> Iterator[tuple[str, ast.Module]]:
    """Every module of the package (migrations aside) by its path under src/riskops."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def imported(tree: ast.Module, module: str) -> Iterator[tuple[int, str]]:
    """Every module `tree` imports (absolute), with its line."""
    package = module.rsplit("/", 1)[0].replace("/", ".") if "/" in module else ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = f"riskops.{package}".rstrip(".").split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:  # `from riskops import decisions` imports a package too
                yield node.lineno, f"{base}.{alias.name}"


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def forbidden_imports(module: str, tree: ast.Module, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported(tree, module)
        if within(name, *forbidden)
    ]


def violations(
    folder: str, forbidden: tuple[str, ...], allowed: frozenset[str] = frozenset()
) -> list[str]:
    return [
        found
        for module, tree in modules()
        if module.startswith(folder) and module not in allowed
        for found in forbidden_imports(module, tree, forbidden)
    ]


def test_the_ledger_imports_nothing_from_decisions() -> None:
    assert violations("ledger/", ("riskops.decisions",)) == []


def test_events_import_no_domain_and_no_composition_root() -> None:
    # The event contracts are generated from the domains' models (riskops.contracts); the
    # composition root hands their validators to the consumers.
    forbidden = (*(f"riskops.{d}" for d in DOMAINS), *ROOT, "riskops.contracts")
    assert violations("events/", forbidden, allowed=frozenset({"events/cli.py"})) == []


def test_the_api_does_not_import_the_composition_root() -> None:
    assert violations("api/", ROOT) == []


def test_only_commands_import_the_composition_root() -> None:
    allowed = frozenset({"runtime.py", *COMMANDS, *COMMAND_HELPERS})
    assert violations("", ("riskops.runtime",), allowed) == []


def test_decisions_own_the_transaction() -> None:
    defines = {
        module: {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        for module, tree in modules()
    }
    assert "Transaction" in defines["decisions/models.py"]
    assert "TransactionCreate" in defines["decisions/requests.py"]
    elsewhere = [
        m
        for m, names in defines.items()
        if {"Transaction", "TransactionCreate"} & names
        and m not in {"decisions/models.py", "decisions/requests.py"}
    ]
    assert elsewhere == []
    assert "RiskConsumer" in defines["decisions/tasks.py"]


def _enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    owner: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                owner.setdefault(inner, node.name)
    return owner


def commits(module: str, tree: ast.Module) -> list[str]:
    """Calls of .begin() / .begin_nested() / .commit() outside the request dependency.

    A database commit takes no argument; committing consumer offsets
    (`subscription.commit(batch)`) does, and is not a transaction.
    """
    owner = _enclosing_functions(tree)
    return [
        f"{module}:{node.lineno} calls .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            node.func.attr in {"begin", "begin_nested"}
            or (node.func.attr == "commit" and not node.args and not node.keywords)
        )
        and (module, owner.get(node)) != REQUEST_TRANSACTION
    ]


def test_only_the_database_package_and_the_request_dependency_begin_or_commit() -> None:
    found = [
        call
        for module, tree in modules()
        if not module.startswith("db/")  # riskops.db.transaction(engine): background, commands
        for call in commits(module, tree)
    ]
    assert found == [], "use WriteConnection (requests) or riskops.db.transaction (the rest)"


def test_nothing_looks_up_app_state_by_name() -> None:
    found = [
        f"{module}:{node.lineno}"
        for module, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"getattr", "hasattr"}
        and node.args
        and isinstance(node.args[0], ast.Attribute)
        and node.args[0].attr == "state"
    ]
    assert found == [], "the runtime carries every component; read it through RuntimeDep"


def test_the_pipeline_scorer_is_swapped_through_its_method() -> None:
    found = [
        f"{module}:{node.lineno}"
        for module, tree in modules()
        if module != "decisions/pipeline.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == "scorer"
    ]
    assert found == [], "call pipeline.use_scorer(scorer | None)"


def test_the_walkers_see_what_they_look_for() -> None:
    planted = ast.parse(
        "from riskops.decisions.models import Decision\n"
        "from . import service\n"
        "async def f(engine):\n"
        "    async with engine.begin() as connection:\n"
        "        await connection.commit()\n"
    )
    assert forbidden_imports("ledger/repository.py", planted, ("riskops.decisions",)) == [
        "ledger/repository.py:1 imports riskops.decisions.models",
        "ledger/repository.py:1 imports riskops.decisions.models.Decision",
    ]
    assert (2, "riskops.ledger.service") in list(imported(planted, "ledger/repository.py"))
    assert commits("ledger/service.py", planted) == [
        "ledger/service.py:4 calls .begin()",
        "ledger/service.py:5 calls .commit()",
    ]
    assert (
        commits(
            "api/deps.py",
            ast.parse(
                "async def write_connection(runtime):\n"
                "    async with runtime.engine.begin() as connection:\n"
                "        yield connection\n"
            ),
        )
        == []
    )
