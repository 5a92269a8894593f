"""HTTP for decisions: submit a payment, read transactions, their audit, and the stats."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from riskops.api.deps import (
    ReadConnection,
    Reader,
    RuntimeDep,
    authorize,
    client_of,
    presented_key,
)
from riskops.api.openapi import inline_schema
from riskops.api.params import Cursor, IsoDateTime
from riskops.api.responses import ERRORS, json_response
from riskops.auth.roles import Capability
from riskops.core.errors import BadRequest
from riskops.decisions import service
from riskops.decisions.policy import Outcome
from riskops.decisions.requests import MAX_EVENT_AGE, TransactionCreate
from riskops.decisions.schemas import (
    AuditOut,
    Stats,
    TransactionDetail,
    TransactionOut,
    TransactionPage,
)
from riskops.labels.service import labels_of

router = APIRouter(prefix="/v1", tags=["decisions"])
MAX_IDEMPOTENCY_KEY = 255


# The hot path reads its body and headers itself: FastAPI's dependency solving and stdlib JSON
# parsing cost more than the decision; pydantic parses and validates the JSON bytes in one
# pass. The OpenAPI document still describes the body, the header and the security.
_CREATE_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": inline_schema(TransactionCreate)}},
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Unique per account and payment attempt; retries reuse it",
        }
    ],
    "security": [{"HTTPBearer": []}, {"APIKeyHeader": []}],
}


@router.post(
    "/transactions",
    status_code=201,
    response_model=TransactionOut,
    responses=ERRORS,
    openapi_extra=_CREATE_OPENAPI,
)
async def create_transaction(request: Request) -> Response:
    """Decide a payment: features, rules and model, then one durable write. Retries are safe."""
    runtime = request.app.state.runtime
    principal = await authorize(
        runtime, presented_key(request), Capability.SUBMIT_PAYMENTS, client_of(request)
    )
    idempotency_key = request.headers.get("idempotency-key")
    if not idempotency_key:
        raise BadRequest("the Idempotency-Key header is required", {"header": "Idempotency-Key"})
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise BadRequest(
            f"the Idempotency-Key header is longer than {MAX_IDEMPOTENCY_KEY} characters",
            {"header": "Idempotency-Key"},
        )
    try:
        body = TransactionCreate.model_validate_json(
            await request.body(), context={MAX_EVENT_AGE: runtime.settings.max_event_age}
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_input=False)]
        ) from None
    # The bucket is consulted only once the pipeline knows this is not a replay: a retry of a
    # stored answer is never limited, whatever the caller's bucket holds.
    limits = runtime.payment_limits
    admit = partial(limits.take, principal.key_id) if limits.enabled else None
    result = await runtime.pipeline.submit(body, idempotency_key, principal, admit)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response(result.document, 201, headers)


@router.get("/transactions", response_model=TransactionPage, responses=ERRORS)
async def list_transactions(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    account_id: str | None = None,
    occurred_from: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    occurred_to: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    status: Outcome | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    card_token: Annotated[str | None, Query(max_length=64)] = None,
    merchant_id: Annotated[str | None, Query(max_length=64)] = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Cursor = None,
) -> Response:
    """Transactions newest first (event time), filtered, one keyset page at a time."""
    where = service.TransactionFilter(
        account_id=account_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        status=status.value if status else None,
        min_score=min_score,
        max_score=max_score,
        card_token=card_token,
        merchant_id=merchant_id,
        device_id=device_id,
    )
    items, next_cursor = await service.list_transactions(
        connection, where, limit, cursor, runtime.settings.page_size_max
    )
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get("/transactions/{transaction_id}", response_model=TransactionDetail, responses=ERRORS)
async def get_transaction(transaction_id: str, connection: ReadConnection, _: Reader) -> Response:
    """One transaction with its decision, feature snapshot, audit and labels."""
    detail = await service.transaction_detail(connection, transaction_id)
    return json_response({**detail, "labels": await labels_of(connection, transaction_id)})


@router.get("/audit/{transaction_id}", response_model=AuditOut, responses=ERRORS)
async def get_audit(transaction_id: str, connection: ReadConnection, _: Reader) -> Response:
    """The audit record of a decision: inputs, rules triggered, latency."""
    return json_response(await service.audit(connection, transaction_id))


@router.get("/stats", response_model=Stats, responses=ERRORS)
async def get_stats(connection: ReadConnection, _: Reader) -> Response:
    """Totals by outcome, approval rate, average amount and p95 decision latency."""
    return json_response(await service.stats(connection))
