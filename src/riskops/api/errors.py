"""Every error leaves as {"code", "message", "details"}: ours, validation, routing, crashes."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import Scope

from riskops.core.context import current_request_id
from riskops.core.errors import RiskOpsError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    details = details or {}
    if (request_id := current_request_id.get()) is not None:
        details = {**details, "request_id": request_id}  # what to quote when reporting it
    body = orjson.dumps({"code": code, "message": message, "details": details})
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _riskops_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RiskOpsError)
    return error_response(
        error.status_code, error.code, error.message, error.details, error.headers
    )


async def _validation_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    # Never echo `input`: it may hold the card number.
    errors = [
        {"field": _field(tuple(p["loc"])), "message": p["msg"], "type": p["type"]} for p in problems
    ]
    first = errors[0]
    message = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_response(422, "validation_error", message, {"errors": errors})


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = HTTP_CODES.get(error.status_code, "http_error")
    headers = dict(error.headers or {})
    details: dict[str, Any] = {}
    if error.status_code == 405:
        # Starlette names only the first route that matched the path; a path served by
        # several routes (GET and POST /v1/transactions) allows the methods of all of them.
        allowed = allowed_methods(request.app, request.scope)
        allowed = allowed or headers.get("Allow", "").split(", ")
        headers["Allow"] = ", ".join(allowed)
        details = {"allowed": allowed}
    return error_response(error.status_code, code, str(error.detail), details, headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Starlette, scope: Scope) -> list[str]:
    """Every method some route of `app` serves at the scope's path (probed, only on a 405)."""
    routes = [route for route in app.router.routes if not isinstance(route, Mount)]
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _crash(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # This answer leaves outside the middleware that stamps ids on responses.
    request_id = current_request_id.get()
    headers = {"X-Request-ID": request_id} if request_id else None
    message = "an internal error occurred; it has been logged"
    return error_response(500, "internal_error", message, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RiskOpsError, _riskops_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _crash)
