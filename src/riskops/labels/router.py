"""HTTP for labels: an analyst or a chargeback feed labels one transaction."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from riskops.api.deps import RuntimeDep, WriteConnection, require
from riskops.api.responses import ERRORS, json_response
from riskops.audit import service as audit
from riskops.audit.service import AdminAction
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.core.errors import NotFound
from riskops.db.types import utcnow
from riskops.labels.publish import label_and_publish, transaction_exists
from riskops.labels.schemas import LabelCreate, LabelOut, LabelRequest, LabelValue

router = APIRouter(prefix="/v1", tags=["labels"])
Labeller = Annotated[Principal, Depends(require(Capability.LABEL_TRANSACTIONS))]


@router.post(
    "/transactions/{transaction_id}/label",
    status_code=201,
    response_model=LabelOut,
    responses=ERRORS,
)
async def label_transaction(
    transaction_id: str,
    body: LabelRequest,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: Labeller,
) -> Response:
    """Record a fraud outcome; features and training see it, and labels.v1 carries it on."""
    if not await transaction_exists(connection, transaction_id):
        raise NotFound(
            f"transaction {transaction_id} does not exist", {"transaction_id": transaction_id}
        )
    label = LabelCreate(
        transaction_id=transaction_id,
        label=1 if body.label is LabelValue.FRAUD else 0,
        source=body.source,
        labelled_at=utcnow(),
    )
    stored = await label_and_publish(connection, runtime.labels, label)
    assert stored is not None  # a fresh event id is never stored before
    await audit.record(
        connection,
        principal.actor(),
        AdminAction.TRANSACTION_LABELLED,
        f"transaction:{transaction_id}",
        after={"label": body.label.value, "source": body.source.value, "reason": body.reason},
    )
    document = {
        "id": stored.id,
        "label": body.label.value,
        "source": stored.source,
        "labelled_at": stored.labelled_at,
    }
    return json_response(document, 201)
