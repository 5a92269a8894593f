"""What the current task is doing on whose behalf, readable anywhere without passing it down."""

from contextvars import ContextVar

# The id of the HTTP request this task serves (api.request_ids sets it); None outside requests.
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
