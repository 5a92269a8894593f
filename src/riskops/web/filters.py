"""Filter values typed into console forms, refused in plain words."""

from datetime import UTC, datetime


class FilterError(Exception):
    """A filter value the console cannot use; its message is shown inline."""


def parse_time(name: str, raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"`{name}` is not a date and time (e.g. 2026-01-31T12:00)") from None
    # The form's datetime-local fields carry no offset: the console speaks UTC throughout.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_score(name: str, raw: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise FilterError(f"`{name}` must be a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise FilterError(f"`{name}` must be between 0 and 1")
    return value
