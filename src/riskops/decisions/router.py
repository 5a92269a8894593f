"""HTTP for decisions: submit a payment, read transactions, their audit, and the stats."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, Submitter
from riskops.api.responses import ERRORS, json_response
from riskops.core.errors import BadRequest, NotFound
from riskops.decisions import repository
from riskops.decisions.policy import Outcome
from riskops.decisions.schemas import (
    AuditOut,
    Stats,
    TransactionDetail,
    TransactionOut,
    TransactionPage,
)
from riskops.ledger.schemas import TransactionCreate

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.post("/transactions", status_code=201, response_model=TransactionOut, responses=ERRORS)
async def create_transaction(
    body: TransactionCreate,
    runtime: RuntimeDep,
    principal: Submitter,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255, description="Unique per account and payment attempt; retries reuse it"
        ),
    ] = None,
) -> Response:
    """Decide a payment: features, rules and model, then one durable write. Retries are safe."""
    if not idempotency_key:
        raise BadRequest(
            "the Idempotency-Key header is required",
            {"header": "Idempotency-Key"},
        )
    result = await runtime.pipeline.submit(body, idempotency_key, principal)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response(result.document, 201, headers)


@router.get("/transactions", response_model=TransactionPage, responses=ERRORS)
async def list_transactions(
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    account_id: str | None = None,
    occurred_from: Annotated[datetime | None, Query(alias="from")] = None,
    occurred_to: Annotated[datetime | None, Query(alias="to")] = None,
    status: Outcome | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: str | None = None,
) -> Response:
    """Transactions newest first (event time), filtered, one keyset page at a time."""
    for name, value in (("from", occurred_from), ("to", occurred_to)):
        if value is not None and value.tzinfo is None:
            raise BadRequest(f"`{name}` needs a timezone offset", {"field": name})
    where = repository.TransactionFilter(
        account_id=account_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        status=status.value if status else None,
        min_score=min_score,
        max_score=max_score,
    )
    limit = min(limit, runtime.settings.page_size_max)
    items, next_cursor = await repository.list_transactions(connection, where, limit, cursor)
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get("/transactions/{transaction_id}", response_model=TransactionDetail, responses=ERRORS)
async def get_transaction(transaction_id: str, connection: ReadConnection, _: Reader) -> Response:
    """One transaction with its decision, feature snapshot and audit."""
    detail = await repository.get_transaction_detail(connection, transaction_id)
    if detail is None:
        raise NotFound(
            f"transaction {transaction_id} does not exist", {"transaction_id": transaction_id}
        )
    return json_response(detail)


@router.get("/audit/{transaction_id}", response_model=AuditOut, responses=ERRORS)
async def get_audit(transaction_id: str, connection: ReadConnection, _: Reader) -> Response:
    """The audit record of a decision: inputs, rules triggered, latency."""
    audit = await repository.get_audit(connection, transaction_id)
    if audit is None:
        raise NotFound(
            f"no audit record for transaction {transaction_id}", {"transaction_id": transaction_id}
        )
    return json_response(audit)


@router.get("/stats", response_model=Stats, responses=ERRORS)
async def get_stats(connection: ReadConnection, _: Reader) -> Response:
    """Totals by outcome, approval rate, average amount and p95 decision latency."""
    return json_response(await repository.stats(connection))
