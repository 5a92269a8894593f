"""Crafted contexts: a payment and the histories around it, built by hand for the pure tools."""

from datetime import UTC, datetime, timedelta
from typing import Any

from riskops.investigations.evidence import EvidenceBag
from riskops.investigations.tools.context import Context

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def payment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "01TXN0000000000000000000AA",
        "amount_minor": 2_500,
        "currency": "EUR",
        "card": {"token": "tok-1", "bin": "411111", "last4": "1111"},
        "account_id": "acct-1",
        "merchant_id": "m-1",
        "merchant_country": "DE",
        "channel": "pos",
        "device_id": "dev-1",
        "ip": "10.0.0.1",
        "occurred_at": AT,
        "decision": {
            "status": "review",
            "score": 0.3,
            "reason_codes": [],
            "rule_hits": [],
        },
    }
    body.update(overrides)
    return body


def earlier(minutes: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"01HIST{minutes:020d}",
        "occurred_at": AT - timedelta(minutes=minutes),
        "amount_minor": 2_000,
        "merchant_id": "m-1",
        "merchant_country": "DE",
        "device_id": "dev-1",
        "card_token": "tok-1",
        "label": None,
    }
    row.update(overrides)
    return row


def windows(day: int, month: int) -> dict[str, Any]:
    return {
        "windows": {
            "24h": {"count": day, "amount_minor": 0},
            "7d": {"count": day, "amount_minor": 0},
            "30d": {"count": month, "amount_minor": 0},
        },
        "linked": {},
    }


def context(
    transaction: dict[str, Any] | None = None,
    histories: dict[str, list[dict[str, Any]]] | None = None,
    summaries: dict[str, dict[str, Any]] | None = None,
    block_hits: list[str] | None = None,
) -> Context:
    """A context whose evidence ids follow the real tool's keys."""
    t = transaction or payment()
    histories = histories or {}
    summaries = summaries or {}
    bag = EvidenceBag("E")
    refs = {
        "transaction": bag.add("transaction", "the payment"),
        "decision": bag.add("decision", "its decision"),
    }
    for name in block_hits or []:
        refs[f"block:{name}"] = bag.add("block_list", f"on {name}")
    for kind, rows in histories.items():
        refs[f"history:{kind}"] = bag.add("history", f"{kind} history")
        for row in rows:
            if row["label"] == 1:
                refs[f"fraud:{row['id']}"] = bag.add("label", "fraud")
    for kind, summary in summaries.items():
        if any(summary.get("linked", {}).values()):
            refs[f"links:{kind}"] = bag.add("links", f"{kind} links")
    return Context(
        t, t["occurred_at"], None, histories, summaries, block_hits or [], bag.items, refs
    )
