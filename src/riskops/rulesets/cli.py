"""`riskops rules list|show|diff|validate|draft|drafts|backtest|submit|approve|reject`.

Everything but `validate` goes through the HTTP API with an API key (`--key` or
RISKOPS_API_KEY), so the CLI obeys the same roles and four-eyes rule as everyone: a command
that wrote to the database directly would let one person author and approve. `validate`
checks a file locally, with no server and no key.
"""

from __future__ import annotations  # annotations name lazily imported types

import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from riskops.core.console import LazyConsole
from riskops.rules import RuleAction
from riskops.rulesets.content import DraftAction

if TYPE_CHECKING:
    import httpx

rules_app = typer.Typer(
    rich_markup_mode=None,
    help="Ruleset versions and drafts: validate, draft, backtest, submit, approve.",
)
err = LazyConsole(stderr=True)
out = LazyConsole()

Url = Annotated[
    str,
    typer.Option("--url", envvar="RISKOPS_URL", help="The RiskOps API"),
]
Key = Annotated[
    str,
    typer.Option("--key", envvar="RISKOPS_API_KEY", help="API key (analyst, approver or admin)"),
]
DEFAULT_URL = "http://127.0.0.1:8000"


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules", no_args_is_help=True)


def _client(url: str, key: str) -> httpx.Client:
    import httpx

    if not key:
        err.print("[red]an API key is needed: --key or RISKOPS_API_KEY[/red]")
        raise typer.Exit(2)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _call(url: str, key: str, method: str, path: str, body: Any = None) -> Any:
    """One API call; an error answer is printed with its code and details, then exit 1."""
    with _client(url, key) as client:
        response = client.request(method, path, json=body)
    document = response.json() if response.content else None
    if response.status_code >= 400:
        code = document.get("code") if isinstance(document, dict) else response.status_code
        message = document.get("message") if isinstance(document, dict) else response.text
        err.print(f"[red]{code}: {message}[/red]")
        for problem in (document or {}).get("details", {}).get("errors", []):
            err.print(f"  {problem['rule_id']}: {problem['field']}: {problem['reason']}")
        raise typer.Exit(1)
    return document


def read_rules(path: Path) -> list[dict[str, Any]]:
    """Rules from a JSON file (a list, or {"rules": [...]}) or a TOML ruleset file."""
    import tomllib

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        rules = tomllib.loads(text).get("rules", [])
        for rule in rules:
            rule.pop("enabled", None)
            if rule.get("action") == RuleAction.APPROVE_OVERRIDE:
                rule["action"] = DraftAction.APPROVE.value
        return list(rules)
    document = json.loads(text)
    return list(document["rules"] if isinstance(document, dict) else document)


@rules_app.command("list")
def list_versions(url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Every version, newest first."""
    from rich.table import Table

    table = Table("version", "status", "rules", "author", "approver", "activated", "comment")
    for v in _call(url, key, "GET", "/v1/rulesets")["items"]:
        table.add_row(
            str(v["version"]),
            v["status"],
            str(v["rule_count"]),
            v["author"],
            v["approver"] or "-",
            v["activated_at"] or "-",
            v["comment"][:60],
        )
    out.print(table)


@rules_app.command("show")
def show(
    version: Annotated[str, typer.Argument(help="A version number or 'active'")] = "active",
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """A version's rules as JSON (the shape `rules draft` takes)."""
    document = _call(url, key, "GET", f"/v1/rulesets/{version}")
    out.print_json(json.dumps({"version": document["version"], "rules": document["rules"]}))


@rules_app.command("diff")
def diff(
    base: Annotated[str, typer.Argument(help="Version number, 'active' or a rules file")],
    candidate: Annotated[str, typer.Argument(help="Version number, 'active' or a rules file")],
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Rules added, removed and changed (field by field) from BASE to CANDIDATE."""
    from riskops.rulesets.content import diff as diff_rules
    from riskops.rulesets.content import normalise

    def rules(source: str) -> list[dict[str, Any]]:
        if Path(source).is_file():
            return normalise(read_rules(Path(source)))
        return list(_call(url, key, "GET", f"/v1/rulesets/{source}")["rules"])

    changes = diff_rules(rules(base), rules(candidate))
    for rule in changes["added"]:
        out.print(f"[green]+ {rule['id']}[/green]  {rule['expression']}")
    for rule in changes["removed"]:
        out.print(f"[red]- {rule['id']}[/red]  {rule['expression']}")
    for change in changes["changed"]:
        out.print(f"[yellow]~ {change['id']}[/yellow]")
        for field, values in change["changes"].items():
            out.print(f"    {field}: {values['before']!r} -> {values['after']!r}")
    if not any(changes.values()):
        out.print("no differences")


@rules_app.command("validate")
def validate(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Check a rules file locally: every problem, by rule id (exit 1 if any)."""
    from riskops.rulesets.content import normalise
    from riskops.rulesets.validation import problems

    found = problems(normalise(read_rules(path)))
    for problem in found:
        err.print(f"[red]{problem['rule_id']}[/red]: {problem['field']}: {problem['reason']}")
    if found:
        raise typer.Exit(1)
    out.print("valid")


@rules_app.command("draft")
def draft(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON or TOML")],
    comment: Annotated[str, typer.Option(help="Why this change")] = "",
    base: Annotated[int | None, typer.Option(help="Base version; default: active")] = None,
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Create a draft from a whole candidate ruleset; prints its id and diff."""
    body = {"rules": read_rules(path), "comment": comment, "base_version": base}
    created = _call(url, key, "POST", "/v1/rulesets/drafts", body)
    changes = created["diff"]
    out.print(
        f"draft {created['id']} on version {created['base_version']}: "
        f"{len(changes['added'])} added, {len(changes['removed'])} removed, "
        f"{len(changes['changed'])} changed"
    )


@rules_app.command("drafts")
def drafts(
    status: Annotated[str | None, typer.Option(help="draft, pending_approval, ...")] = None,
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Drafts, most recently changed first."""
    path = "/v1/rulesets/drafts" + (f"?status={status}" if status else "")
    for d in _call(url, key, "GET", path)["items"]:
        out.print(f"{d['id']}  {d['status']:<16} base {d['base_version']}  {d['comment'][:60]}")


@rules_app.command("backtest")
def backtest(
    draft_id: Annotated[str, typer.Argument(help="The draft's id")],
    from_: Annotated[datetime, typer.Option("--from", help="Start (ISO 8601, UTC)")],
    to: Annotated[datetime, typer.Option(help="End, excluded (ISO 8601, UTC)")],
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Replay the draft and the active version over stored decisions; waits for the result."""
    window = {"from": _utc(from_), "to": _utc(to)}
    job_id = _call(url, key, "POST", f"/v1/rulesets/drafts/{draft_id}/backtest", window)["job_id"]
    while (job := _call(url, key, "GET", f"/v1/jobs/{job_id}"))["status"] in {"queued", "running"}:
        err.print(f"backtest {job_id}: {job['status']} {job['progress']:.0%}", end="\r")
        time.sleep(0.5)
    if job["status"] == "failed":
        err.print(f"[red]backtest failed: {job['error']}[/red]")
        raise typer.Exit(1)
    result = job["result"]
    out.print(f"{result['decisions']:,} decisions, {result['changed_decisions']:,} change outcome")
    for rule in result["rules"]:
        figures = rule["candidate"] or rule["active"]
        precision = "-" if figures["precision"] is None else f"{figures['precision']:.2f}"
        recall = "-" if figures["recall"] is None else f"{figures['recall']:.2f}"
        out.print(
            f"  {rule['id']:<32} {rule['status']:<9} hits {figures['hits']:>7,} "
            f"rate {figures['hit_rate']:.4f} precision {precision} recall {recall}"
        )


def _utc(moment: datetime) -> str:
    from datetime import UTC

    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@rules_app.command("submit")
def submit(draft_id: str, url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Ask for approval (the draft's author)."""
    done = _call(url, key, "POST", f"/v1/rulesets/drafts/{draft_id}/submit")
    out.print(f"draft {draft_id}: {done['status']}")


@rules_app.command()
def approve(draft_id: str, url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Approve someone else's draft: it becomes the next active version."""
    done = _call(url, key, "POST", f"/v1/rulesets/drafts/{draft_id}/approve")
    out.print(f"draft {draft_id} approved: version {done['version']} is active")


@rules_app.command("reject")
def reject(
    draft_id: str,
    reason: Annotated[str, typer.Option(help="Why, for the author")],
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Send someone else's draft back with a reason."""
    _call(url, key, "POST", f"/v1/rulesets/drafts/{draft_id}/reject", {"reason": reason})
    out.print(f"draft {draft_id} rejected")
