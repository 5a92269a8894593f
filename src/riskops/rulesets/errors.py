"""The errors of the ruleset workflow, each with its own stable code."""

from riskops.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from riskops.rules import RuleProblem


class RulesetInvalid(Unprocessable):
    code = "ruleset_invalid"

    @classmethod
    def of(cls, problems: list[RuleProblem]) -> "RulesetInvalid":
        first = problems[0]
        where = f"rule '{first['rule_id']}'" if first["rule_id"] else "the ruleset"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        message = f"invalid ruleset: {where}, {first['field']}: {first['reason']}{more}"
        return cls(message, {"errors": [dict(p) for p in problems]})


class FourEyesRequired(Forbidden):
    code = "four_eyes_required"


class NotTheAuthor(Forbidden):
    code = "not_the_author"


class DraftNotFound(NotFound):
    code = "draft_not_found"


class VersionNotFound(NotFound):
    code = "ruleset_version_not_found"


class WrongDraftStatus(Conflict):
    """The draft is not (or no longer) in the status this action needs."""

    code = "draft_status_conflict"


class StaleBase(Conflict):
    """The active version moved since the draft was based: its diff no longer says what changes."""

    code = "draft_base_outdated"
