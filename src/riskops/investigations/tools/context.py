"""The context tool: the payment, its decision, rule hits, labels, case, block-list hits and
the recent history of its card, account, device, merchant and IP, each as evidence."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases import service as cases
from riskops.core.errors import NotFound
from riskops.decisions import repository as decisions
from riskops.entities import service as entities
from riskops.entities.service import EntityKind
from riskops.investigations.evidence import Evidence, EvidenceBag
from riskops.labels import service as labels
from riskops.lists import service as lists

HISTORY_LIMIT = 200  # payments per entity inside the window
FRAUD_EVIDENCE_LIMIT = 10  # labelled-fraud payments cited one by one
# Which list holds which of the payment's values (exact matches: the rule hits cover CIDR).
BLOCK_LISTS = (("blocked_cards", "card"), ("blocked_devices", "device_id"), ("blocked_ips", "ip"))
FRAUD = 1
# Whose all-time totals and links the patterns read (velocity: card; sharing: card, device).
# A merchant's summary is a scan of its every payment, and nothing reads it. An IP's links
# come from its window instead: transactions have no IP index (an all-time summary would scan
# the table), and addresses change hands, so who shared one lately is what counts.
SUMMARISED = frozenset({EntityKind.CARD, EntityKind.DEVICE})
LINKED_IN_WINDOW = frozenset({EntityKind.IP})
# Sharing worth evidence (the linked-entities pattern reads it): which kinds of entity
# behind a device, an IP or a card. One of each is the normal case; more is a link.
SHARING: dict[str, tuple[str, ...]] = {
    EntityKind.DEVICE.value: (EntityKind.CARD.value, EntityKind.ACCOUNT.value),
    EntityKind.IP.value: (EntityKind.CARD.value, EntityKind.DEVICE.value),
    EntityKind.CARD.value: (EntityKind.ACCOUNT.value,),
}


@dataclass(frozen=True, slots=True)
class ContextInput:
    transaction_id: str
    window: timedelta = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Context:
    transaction: dict[str, Any]
    at: datetime  # when the payment happened: "recent" and "new" are relative to it
    case: dict[str, Any] | None
    histories: dict[str, list[dict[str, Any]]]  # kind -> earlier payments, newest first
    summaries: dict[str, dict[str, Any]]  # kind -> entities.activity (windows, links)
    block_hits: list[str]  # list names the payment's values are on
    evidence: list[Evidence]
    refs: dict[str, str] = field(default_factory=dict)  # what -> evidence id

    def ref(self, key: str) -> list[str]:
        return [self.refs[key]] if key in self.refs else []


def money(amount_minor: int, currency: str) -> str:
    """Major units for people (two-decimal currencies, as the console shows them)."""
    return f"{amount_minor / 100:,.2f} {currency}"


def _value(transaction: dict[str, Any], kind: EntityKind) -> str | None:
    if kind is EntityKind.CARD:
        return str(transaction["card"]["token"])
    key = {"account": "account_id", "device": "device_id", "merchant": "merchant_id", "ip": "ip"}
    value = transaction[key[kind.value]]
    return str(value) if value else None


def _linked_in(payment: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The cards and devices seen with this payment and its window's (an IP's links)."""
    cards = {str(payment["card"]["token"])} | {str(r["card_token"]) for r in rows}
    devices = {payment["device_id"]} | {r["device_id"] for r in rows}
    return {"card": sorted(cards), "device": sorted(str(d) for d in devices if d)}


async def gather(connection: AsyncConnection, given: ContextInput) -> Context:
    payment = await decisions.get_transaction(connection, given.transaction_id)
    if payment is None:
        raise NotFound(
            f"transaction {given.transaction_id} does not exist",
            {"transaction_id": given.transaction_id},
        )
    bag = EvidenceBag("E")
    refs: dict[str, str] = {}
    at: datetime = payment["occurred_at"]
    decision = payment["decision"]
    refs["transaction"] = bag.add(
        "transaction",
        f"Payment {payment['id']}: {money(payment['amount_minor'], payment['currency'])} "
        f"at merchant {payment['merchant_id']} ({payment['merchant_country']}, "
        f"{payment['channel']})",
        transaction_id=payment["id"],
    )
    refs["decision"] = bag.add(
        "decision",
        f"Decided {decision['status']} with score {decision['score']:.2f}"
        + (f", reasons {', '.join(decision['reason_codes'])}" if decision["reason_codes"] else ""),
        status=decision["status"],
        score=decision["score"],
        reason_codes=list(decision["reason_codes"]),
        explanations=decision["explanations"],
    )
    for hit in decision["rule_hits"]:
        refs[f"rule:{hit['rule_id']}"] = bag.add(
            "rule_hit",
            f"Rule {hit['rule_id']} hit ({hit['action']}, {hit['severity']})",
            **hit,
        )
    for label in await labels.labels_of(connection, payment["id"]):
        refs["label"] = bag.add(
            "label",
            f"This payment is labelled {'fraud' if label['label'] == FRAUD else 'legitimate'}",
            label=label["label"],
            source=label.get("source"),
        )
    case = None
    case_id = await cases.case_of(connection, payment["id"])
    if case_id is not None:
        case = await cases.brief(connection, case_id)
        refs["case"] = bag.add(
            "case",
            f"Case {case_id} is {case['status']} with {len(case['notes'])} note(s)",
            case_id=case_id,
            status=case["status"],
            notes=[n["text"] for n in case["notes"]][-5:],
        )
    live, _, _ = await lists.live_lists(connection)
    block_hits = []
    for name, key in BLOCK_LISTS:
        value = payment["card"]["token"] if key == "card" else payment[key]
        if value and name in live and value in live[name][1]:
            block_hits.append(name)
            refs[f"block:{name}"] = bag.add("block_list", f"The payment's {key} is on {name}")
    for hit in decision["rule_hits"]:
        if str(hit["reason_code"]).startswith("BLOCKED_"):
            block_hits.append(hit["rule_id"])
            refs[f"block:{hit['rule_id']}"] = refs[f"rule:{hit['rule_id']}"]
    histories: dict[str, list[dict[str, Any]]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    hours = int(given.window.total_seconds() // 3600)
    for kind in EntityKind:
        value = _value(payment, kind)
        if value is None:
            continue
        rows = await entities.recent(
            connection, kind, value, HISTORY_LIMIT, at - given.window, until=at
        )
        earlier = [r for r in rows if r["id"] != payment["id"]]
        histories[kind.value] = earlier
        if kind in SUMMARISED:
            summaries[kind.value] = await entities.activity(connection, kind, value, at)
        elif kind in LINKED_IN_WINDOW:
            summaries[kind.value] = {"linked": _linked_in(payment, earlier)}
        frauds = [r for r in earlier if r["label"] == FRAUD]
        refs[f"history:{kind.value}"] = bag.add(
            "history",
            f"The {kind.value} made {len(earlier)} other payment(s) in the "
            f"{hours} h before this one, "
            f"{len(frauds)} labelled fraud",
            entity={"kind": kind.value, "id": value},
            transaction_ids=[r["id"] for r in earlier][:50],
        )
        for row in frauds[:FRAUD_EVIDENCE_LIMIT]:
            key = f"fraud:{row['id']}"
            if key not in refs:
                refs[key] = bag.add(
                    "label",
                    f"Payment {row['id']} of the same {kind.value} is labelled fraud",
                    transaction_id=row["id"],
                )
        linked = summaries.get(kind.value, {}).get("linked", {})
        shared = {
            other: len(linked[other])
            for other in SHARING.get(kind.value, ())
            if len(linked.get(other, [])) > 1
        }
        if shared:
            # A card's token is not shown: "the card" names it well enough here.
            who = "card" if kind is EntityKind.CARD else f"{kind.value} {value}"
            refs[f"links:{kind.value}"] = bag.add(
                "links",
                f"The {who} was used by "
                + " and ".join(f"{n} {other}s" for other, n in shared.items())
                + (f" within the {hours} h" if kind in LINKED_IN_WINDOW else ""),
                entity={"kind": kind.value, "id": value},
                linked=linked,
            )
    return Context(payment, at, case, histories, summaries, block_hits, bag.items, refs)
