"""Rules and rulesets as immutable values; a ruleset's checksum identifies its exact content."""

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from riskops.core.outcome import Outcome
from riskops.rules.errors import RulesetError, problem


class RuleAction(StrEnum):
    """What a hit asks the decision policy to do.

    Combining hits is a max over `strength`: review and decline raise the outcome to theirs,
    an approve override (an allow list) is the only action that may lower it, a tag forces
    nothing.
    """

    DECLINE = Outcome.DECLINE.value
    REVIEW = Outcome.REVIEW.value
    APPROVE_OVERRIDE = "approve_override"  # allow lists: approve even if the score disagrees
    TAG = "tag"  # informational: recorded and shown to analysts, forces nothing

    @classmethod
    def _missing_(cls, value: object) -> "RuleAction | None":
        # The draft API spells the allow-list override "approve"; stored rulesets, decision
        # records and the golden replay keep "approve_override", so both are accepted.
        return cls.APPROVE_OVERRIDE if value == Outcome.APPROVE.value else None

    @property
    def strength(self) -> int:
        return _ACTION_STRENGTH[self]

    @property
    def outcome(self) -> Outcome | None:
        """The outcome this action asks for; None for a tag."""
        return _ACTION_OUTCOME.get(self)


_ACTION_STRENGTH: Final[dict[RuleAction, int]] = {
    RuleAction.TAG: 0,
    RuleAction.APPROVE_OVERRIDE: 1,
    RuleAction.REVIEW: 2,
    RuleAction.DECLINE: 3,
}
_ACTION_OUTCOME: Final[dict[RuleAction, Outcome]] = {
    RuleAction.APPROVE_OVERRIDE: Outcome.APPROVE,
    RuleAction.REVIEW: Outcome.REVIEW,
    RuleAction.DECLINE: Outcome.DECLINE,
}


class RuleMode(StrEnum):
    """Active rules decide; shadow rules are evaluated and recorded, and decide nothing."""

    ACTIVE = "active"
    SHADOW = "shadow"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def weight(self) -> float:
        """This severity's contribution to a rules-only risk score, in (0, 1)."""
        return _SEVERITY_WEIGHTS[self]


# Read as "probability this hit alone means fraud". Combined as 1 - prod(1 - w) (noisy-or),
# one critical hit scores .90 and one high .60 on its own, two mediums reach .58 and three
# lows .39: corroborating weak signals add up, but never outrank one strong signal.
_SEVERITY_WEIGHTS: Final[dict[Severity, float]] = {
    Severity.LOW: 0.15,
    Severity.MEDIUM: 0.35,
    Severity.HIGH: 0.60,
    Severity.CRITICAL: 0.90,
}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    description: str
    expression: str  # CEL over transaction fields and features; must yield a bool
    action: RuleAction
    reason_code: str  # UPPER_SNAKE; what decision records, metrics and analysts see
    severity: Severity
    enabled: bool = True
    mode: RuleMode = RuleMode.ACTIVE

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "expression": self.expression,
            "action": self.action.value,
            "reason_code": self.reason_code,
            "severity": self.severity.value,
            "enabled": self.enabled,
            "mode": self.mode.value,
        }


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A versioned, ordered set of rules. Order is evaluation and reporting order.

    `checksum` is SHA-256 over the canonical JSON of `as_dict()`, computed here rather than
    passed in so it can never go stale. It covers content, not formatting: comments or
    whitespace in the TOML do not change it, any field of any rule (or the order) does.
    Two rulesets that both claim version "3" but differ are therefore told apart.
    """

    version: str
    rules: tuple[Rule, ...]
    checksum: str = field(init=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            # Hits, errors and metrics are keyed by rule id; a duplicate would merge two rules.
            if rule.id in seen:
                raise RulesetError.from_problems([problem(rule.id, "id", "duplicate rule id")])
            seen.add(rule.id)
        canonical = json.dumps(
            self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        object.__setattr__(self, "checksum", digest)  # frozen: set once, here

    def as_dict(self) -> dict[str, object]:
        """The canonical content of this ruleset: what the checksum covers."""
        return {"version": self.version, "rules": [rule.as_dict() for rule in self.rules]}
