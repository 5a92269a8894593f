"""What a scan detector yields, and the thresholds the scan reads (one place, so tests can
build histories just over and just under each; shared ones come from the investigation
pattern tool, so a scan and an investigation call the same thing by the same name)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from riskops.entities.service import EntityKind
from riskops.investigations.tools import patterns  # the same thresholds as investigations


class Suggestion(StrEnum):
    """What acknowledging may do besides opening a case: put the entity on a list."""

    BLOCK = "block_list_entry"
    WATCH = "watch_list_entry"


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    review_threshold: float = 0.5
    decline_threshold: float = 0.85
    # Near threshold: this close below the review or decline threshold, in the last window.
    near_margin: float = 0.1
    near_window: timedelta = timedelta(hours=1)
    near_limit: int = 20  # payments investigated per scan (each is a full context read)
    # Merchants (terminals): fraud labels known by now on payments inside the window.
    label_window: timedelta = timedelta(days=14)
    merchant_fraud_min: int = patterns.MERCHANT_FRAUD_MIN
    merchant_fraud_cards_min: int = 2  # one card's frauds at a shop point at the card
    merchant_fraud_share: float = 0.3  # of its labelled payments since the first fraud
    # Card-testing rings: small payments of several cards behind one device or IP.
    ring_window: timedelta = timedelta(hours=6)
    ring_cards_min: int = patterns.SHARED_MIN
    ring_payments_min: int = patterns.BURST_MIN
    small_amount: int = patterns.SMALL_AMOUNT  # minor units
    # Account takeover: the last window against the account's own 30 days before it.
    takeover_window: timedelta = timedelta(hours=72)
    baseline_window: timedelta = timedelta(days=30)
    baseline_min: int = 3  # earlier payments: a new account has no baseline to leave
    spike_factor: float = patterns.HIGH_FACTOR  # times the account's baseline mean amount
    spikes_min: int = 2  # spikes alone; one spike is enough from a new device
    high_amount: int = patterns.HIGH_AMOUNT  # minor units: high whatever the baseline
    evidence_limit: int = 20  # transaction ids kept per entry


@dataclass(frozen=True, slots=True)
class Candidate:
    """One (entity, pattern) the scan thinks an analyst should look at now."""

    kind: EntityKind
    entity_id: str
    pattern: str
    strength: float  # 0..1
    summary: str
    transaction_ids: list[str]  # the evidence, newest first
    latest_at: datetime  # when the newest evidence happened (or, for a label, became known)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def open_key(self) -> str:
        return f"{self.kind.value}:{self.entity_id}:{self.pattern}"


# Which list an acknowledged recommendation may add the entity to. Cards, devices and IPs
# have shipped block lists; merchants and accounts are watched (a list created on first use).
LIST_OF: dict[EntityKind, tuple[str, Suggestion]] = {
    EntityKind.CARD: ("blocked_cards", Suggestion.BLOCK),
    EntityKind.DEVICE: ("blocked_devices", Suggestion.BLOCK),
    EntityKind.IP: ("blocked_ips", Suggestion.BLOCK),
    EntityKind.MERCHANT: ("watched_merchants", Suggestion.WATCH),
    EntityKind.ACCOUNT: ("watched_accounts", Suggestion.WATCH),
}
