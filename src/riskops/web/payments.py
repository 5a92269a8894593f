"""The payment form: every field of POST /v1/transactions, decided by the same pipeline."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from riskops.api.deps import permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.core.errors import BadRequest, RiskOpsError
from riskops.core.ids import new_id
from riskops.core.payment import Channel
from riskops.decisions.requests import TransactionCreate
from riskops.web import nav
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
OPTIONAL = ("device_id", "ip", "user_id", "occurred_at")
FIELDS = (
    "account_id",
    "amount_minor",
    "currency",
    "card_number",
    "merchant_id",
    "merchant_category",
    "merchant_country",
    "channel",
    *OPTIONAL,
)

nav.register(nav.Page("New payment", "/pay", order=20))


def _form_context(values: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "values": values or {"currency": "EUR", "channel": "ecom", "merchant_country": "DE"},
        "channels": [c.value for c in Channel],
        "idempotency_key": f"console-{new_id()}",
    }


@router.get("/pay", response_class=HTMLResponse)
async def payment_form(request: Request, user: User) -> Response:
    """The payment form."""
    return render(request, "pay.html", _form_context(), user)


def _body(form: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {name: form.get(name, "").strip() for name in FIELDS}
    for name in OPTIONAL:
        if not body[name]:
            del body[name]
    if "occurred_at" in body and len(body["occurred_at"]) <= 19:
        body["occurred_at"] += "Z"  # datetime-local has no offset: the console speaks UTC
    amount = body["amount_minor"]
    # The API takes a JSON integer; the form sends text, so only plain digits become one.
    body["amount_minor"] = int(amount) if amount.isdigit() else amount
    return body


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    # Same wording as the API's 422 (field: message); the input is never echoed back.
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_input=False)
    ]


@router.post("/pay", response_class=HTMLResponse)
async def submit_payment(request: Request, user: User) -> Response:
    """Decide a payment from the form; errors come back inline in the API's words."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    runtime: Runtime = request.app.state.runtime
    context: dict[str, Any] = {"form_values": {k: v for k, v in form.items() if k != "card_number"}}
    try:
        check_csrf(request, read_session(request), form.get(CSRF_FIELD))
        permit(user.principal, Capability.SUBMIT_PAYMENTS)
        key = form.get("idempotency_key", "")
        if not key:
            raise BadRequest("the idempotency key is missing; reload the form")
        request_body = TransactionCreate.model_validate(_body(form))
        result = await runtime.pipeline.submit(request_body, key, user.principal)
    except ValidationError as error:
        errors = _field_errors(error)
        message = f"{errors[0]['field']}: {errors[0]['message']}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        context |= {"error_code": "validation_error", "message": message, "errors": errors}
        return render(request, "_payment_result.html", context, user, status_code=422)
    except RiskOpsError as error:
        context |= {"error_code": error.code, "message": error.message, "errors": []}
        return render(request, "_payment_result.html", context, user, error.status_code)
    context |= {
        "t": result.document,
        "replayed": result.replayed,
        "next_idempotency_key": f"console-{new_id()}",
    }
    return render(request, "_payment_result.html", context, user, status_code=201)
