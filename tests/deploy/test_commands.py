"""Every `riskops ...` command line the deployment files run is a real command with real
options (the CLI is read through Typer, nothing runs)."""

import re

import typer.main

from riskops.cli import app
from tests.deploy.tools import DEPLOY, ROOT

FILES = [
    ROOT / "Dockerfile",
    DEPLOY / "compose" / "docker-compose.yml",
    DEPLOY / "compose" / "docker-compose.minimal.yml",
    DEPLOY / "helm" / "riskops" / "values.yaml",
    *sorted((DEPLOY / "helm" / "riskops" / "templates").glob("*.yaml")),
    *sorted((DEPLOY / "ansible" / "roles").rglob("*.j2")),
    *sorted((DEPLOY / "ansible" / "roles").rglob("main.yml")),
]
# `riskops serve --api-only`, `["riskops", "serve", "--api-only"]`, `riskops", migrate]`;
# not `{name: riskops, key: ...}`.
SEPARATOR = r"""(?:['"],[ \t]*['"]?|[ \t]+)"""
COMMAND = re.compile(rf"riskops{SEPARATOR}([a-z][a-z-]*)((?:{SEPARATOR}--[a-z-]+)*)")


def code(text: str) -> str:
    """The text without comments and task names (prose that may say "riskops")."""
    lines = []
    for line in text.splitlines():
        if re.match(r"\s*-?\s*(name|description|summary):", line):
            continue
        lines.append(re.sub(r"(^|\s)(#|//).*$", "", line))
    return "\n".join(lines)


def command_lines() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in FILES:
        for match in COMMAND.finditer(code(path.read_text())):
            options = re.findall(r"--[a-z-]+", match[2])
            found.append((path.name, match[1], options))
    return found


def test_every_command_and_option_exists() -> None:
    cli = typer.main.get_command(app)
    commands = cli.commands  # type: ignore[attr-defined]
    lines = command_lines()
    used = {name for _, name, _ in lines}
    assert {"serve", "worker", "migrate", "export", "train"} <= used
    wrong = []
    for where, name, options in lines:
        if name not in commands:
            wrong.append(f"{where}: riskops {name}")
            continue
        known = {opt for param in commands[name].params for opt in param.opts}
        wrong += [f"{where}: riskops {name} {o}" for o in options if o not in known]
    assert wrong == []


def test_the_pattern_sees_both_spellings() -> None:
    text = 'command: ["riskops", "serve", "--api-only"]\nExecStart=/x/riskops worker\n'
    found = [(m[1], re.findall(r"--[a-z-]+", m[2])) for m in COMMAND.finditer(text)]
    assert found == [("serve", ["--api-only"]), ("worker", [])]
