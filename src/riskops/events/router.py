"""HTTP for the event path: is it keeping up?"""

from fastapi import APIRouter
from fastapi.responses import Response

from riskops.api.deps import Administrator, RuntimeDep
from riskops.api.responses import ERRORS, json_response
from riskops.events.schemas import EventsStatus

router = APIRouter(prefix="/v1/admin", tags=["events"])


@router.get("/events", response_model=EventsStatus, responses=ERRORS)
async def events_status(runtime: RuntimeDep, _: Administrator) -> Response:
    """Outbox backlog, consumer lag per topic and dead letters waiting for replay (admins)."""
    return json_response(await runtime.events.status())
