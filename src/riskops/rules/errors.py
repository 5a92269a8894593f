"""The one error a ruleset can be refused with, and the problems it carries."""

from collections.abc import Sequence
from typing import Self, TypedDict

from riskops.core.errors import BadRequest


class RuleProblem(TypedDict):
    """One reason a ruleset was refused; `rule_id` is None for ruleset-level fields."""

    rule_id: str | None
    field: str
    reason: str


class RulesetError(BadRequest):
    """A ruleset (file, database row or analyst draft) that must not be loaded.

    `details` holds the first problem's `rule_id`, `field` and `reason` at top level (what a
    caller usually shows) and every problem under `problems`, so a draft editor can show
    all mistakes at once instead of one per save.
    """

    code = "ruleset_invalid"

    @classmethod
    def from_problems(cls, problems: Sequence[RuleProblem]) -> Self:
        if not problems:
            raise ValueError("a RulesetError needs at least one problem")
        first = problems[0]
        where = f"field '{first['field']}'"
        if first["rule_id"] is not None:
            where = f"rule '{first['rule_id']}', {where}"
        message = f"invalid ruleset: {where}: {first['reason']}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem(s))"
        return cls(message, {**first, "problems": [dict(p) for p in problems]})

    @property
    def problems(self) -> list[RuleProblem]:
        return list(self.details.get("problems", []))


def problem(rule_id: str | None, field: str, reason: str) -> RuleProblem:
    return {"rule_id": rule_id, "field": field, "reason": reason}
