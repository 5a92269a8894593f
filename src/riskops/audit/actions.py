"""Who did what: the administrative actions the audit log records, and their actors.

Kept free of the database layer so the CLI can name an actor without importing it.
"""

import getpass
from dataclasses import dataclass
from enum import StrEnum


class AdminAction(StrEnum):
    KEY_CREATED = "api_key.created"
    KEY_REVOKED = "api_key.revoked"
    MODEL_ALIAS_SET = "model.alias_set"
    MODEL_ALIAS_CLEARED = "model.alias_cleared"
    MODEL_PROMOTED = "model.promoted"
    MODEL_PROMOTED_FORCED = "model.promoted_forced"  # a failing gate was overridden
    MODEL_ROLLED_BACK = "model.rolled_back"
    LIST_CREATED = "list.created"
    LIST_ENTRIES_ADDED = "list.entries_added"  # new values, or renewed reason/expiry
    LIST_ENTRY_REMOVED = "list.entry_removed"
    DRAFT_CREATED = "ruleset_draft.created"
    DRAFT_UPDATED = "ruleset_draft.updated"
    DRAFT_SUBMITTED = "ruleset_draft.submitted"
    DRAFT_APPROVED = "ruleset_draft.approved"
    DRAFT_REJECTED = "ruleset_draft.rejected"
    DRAFT_BACKTEST_REQUESTED = "ruleset_draft.backtest_requested"
    RULESET_ACTIVATED = "ruleset.activated"
    CASE_OPENED = "case.opened"
    CASE_JOINED = "case.transaction_added"  # a payment of the same card joined the case
    CASE_ASSIGNED = "case.assigned"
    CASE_NOTE_ADDED = "case.note_added"
    CASE_DISPOSED = "case.disposed"
    CASE_REOPENED = "case.reopened"
    TRANSACTION_LABELLED = "transaction.labelled"
    LABELS_IMPORTED = "labels.imported"
    DATA_RESET = "data.reset"  # facts emptied for a demo (development only)
    INVESTIGATION_RUN = "investigation.run"
    INVESTIGATION_RULE_DRAFTED = "investigation.rule_drafted"
    RECOMMENDATION_ACKNOWLEDGED = "recommendation.acknowledged"
    RECOMMENDATION_REJECTED = "recommendation.rejected"


@dataclass(frozen=True, slots=True)
class Actor:
    id: str  # an API key id, "cli:<os user>" or "system"
    name: str


SYSTEM = Actor("system", "RiskOps")


def cli_actor() -> Actor:
    """Whoever runs the `riskops` command on this machine (the CLI holds no API key)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}"[:64], "riskops CLI")
