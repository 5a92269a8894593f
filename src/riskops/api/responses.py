"""Response helpers shared by routers."""

from typing import Any

import orjson
from fastapi.responses import Response

from riskops.core.errors import ErrorBody

# Documented error responses: every one of them has the one error shape. 400 includes a NUL
# in the path, query, a header or the body; 415 a body that is not JSON (api/guards.py).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}


def json_response(
    document: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    # orjson straight to bytes: documents are built from rows, no second validation pass.
    return Response(orjson.dumps(document), status_code, headers, media_type="application/json")
