"""A ruleset's stored content: the rule shape drafts and versions share, its checksum, its diff.

Rules are plain JSON objects at this edge (API in, database out); `validation` turns them into
the engine's Ruleset.
"""

import hashlib
import json
from enum import StrEnum
from typing import Any, Final

from riskops.core.outcome import Outcome
from riskops.rules import RuleAction

# The shape of a rule in a draft, a version and the API, in display order.
RULE_FIELDS: Final = (
    "id",
    "name",
    "description",
    "expression",
    "action",
    "reason_code",
    "severity",
    "mode",
)


class DraftAction(StrEnum):
    """How a draft names a rule's action: by the outcome it asks for (a tag asks for none)."""

    DECLINE = RuleAction.DECLINE.value
    REVIEW = RuleAction.REVIEW.value
    APPROVE = Outcome.APPROVE.value  # the allow-list override (RuleAction.APPROVE_OVERRIDE)
    TAG = RuleAction.TAG.value


ACTIONS: Final = tuple(action.value for action in DraftAction)
MODES: Final = ("active", "shadow")

RuleDict = dict[str, Any]


def normalise(rules: list[RuleDict]) -> list[RuleDict]:
    """Strings stripped, `mode` defaulted: two drafts that mean the same store the same."""
    normalised = []
    for rule in rules:
        clean = {k: v.strip() if isinstance(v, str) else v for k, v in rule.items()}
        clean.setdefault("mode", "active")
        normalised.append(clean)
    return normalised


def checksum(rules: list[RuleDict]) -> str:
    """SHA-256 of the canonical JSON (the same definition the v1 migration uses)."""
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def diff(base: list[RuleDict], candidate: list[RuleDict]) -> dict[str, Any]:
    """Rules added, removed and changed (with each changed field's before and after), by id."""
    before = {rule["id"]: rule for rule in base}
    after = {rule["id"]: rule for rule in candidate}
    changed = []
    for rule_id, rule in after.items():
        old = before.get(rule_id)
        if old is None or old == rule:
            continue
        fields = {
            name: {"before": old.get(name), "after": rule.get(name)}
            for name in sorted(old.keys() | rule.keys())
            if old.get(name) != rule.get(name)
        }
        changed.append({"id": rule_id, "changes": fields})
    return {
        "added": [rule for rule_id, rule in after.items() if rule_id not in before],
        "removed": [rule for rule_id, rule in before.items() if rule_id not in after],
        "changed": changed,
    }
