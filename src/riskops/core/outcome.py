"""A decision's outcome: one enum for the rules that force it, the policy and every reader."""

from enum import StrEnum


class Outcome(StrEnum):
    """Declared weakest first; `strength` orders them, so combining outcomes is a max."""

    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {outcome: rank for rank, outcome in enumerate(Outcome)}
