"""Every PromQL query of the dashboards and the alert rules, and the series names they read."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from tests.deploy.tools import DEPLOY

OBSERVABILITY = DEPLOY / "observability"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((OBSERVABILITY / "grafana" / "dashboards").glob("*.json"))
KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring"}
)


def alert_rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


def queries() -> Iterator[tuple[str, str]]:
    """(where, expression) for every rule and every dashboard target."""
    for rule in alert_rules():
        yield f"alerts.yml {rule.get('alert') or rule['record']}", rule["expr"]
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.name} {panel['title']}", target["expr"]


def series_names(expr: str) -> set[str]:
    """The metric (or recording rule) names an expression selects.

    Strings, label matchers, ranges, groupings and numbers go first; what remains is function
    calls (an identifier before a parenthesis), operators and keywords, and the names.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w:])\d+(\.\d+)?(e[+-]?\d+)?", " ", text)
    names = set()
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        name, call = match.groups()
        if not call and name not in KEYWORDS:
            names.add(name)
    return names


def label_matchers(expr: str) -> list[tuple[str, str, str]]:
    """(series, label, value) of each `series{label="value"}` in an expression."""
    found = []
    for series, body in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        for label, value in re.findall(r'(\w+)\s*=~?\s*"([^"]*)"', body):
            found.append((series, label, value))
    return found


def recording_rules() -> set[str]:
    return {rule["record"] for rule in alert_rules() if "record" in rule}


def read(path: Path) -> str:
    return path.read_text()
