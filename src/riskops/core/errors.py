"""One error family: every error leaves the API as {"code", "message", "details"}."""

from typing import Any, ClassVar

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["transaction 01J... does not exist"])
    details: dict[str, Any] = Field(default_factory=dict)


class RiskOpsError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers: dict[str, str] = {}  # sent with the error (e.g. Retry-After)

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, details=self.details)


class BadRequest(RiskOpsError):
    status_code = 400
    code = "bad_request"


class Unauthorized(RiskOpsError):
    status_code = 401
    code = "unauthorized"


class Forbidden(RiskOpsError):
    status_code = 403
    code = "forbidden"


class NotFound(RiskOpsError):
    status_code = 404
    code = "not_found"


class Conflict(RiskOpsError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(RiskOpsError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(RiskOpsError):
    """422 is for payload validation: the request parsed, but a value is not acceptable."""

    status_code = 422
    code = "validation_error"


class TooManyRequests(RiskOpsError):
    """429: the caller must wait `retry_after` seconds (also sent as `Retry-After`)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(RiskOpsError):
    status_code = 503
    code = "unavailable"
