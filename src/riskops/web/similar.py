"""Similar past cases, as a fragment: the transaction page and the record dialog load it
after they render (a search never delays the page), the records table's "Find similar"
opens it in the dialog."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from riskops.api.ports import Runtime
from riskops.core.errors import NotFound, RiskOpsError, Unavailable
from riskops.ml import catalog
from riskops.similarity.index import NeighbourFilter
from riskops.web.session import ConsoleUser, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
SIMILAR = 10


@router.get("/similar/{record_id}", response_class=HTMLResponse)
async def similar_cases(
    request: Request, record_id: str, user: User, standalone: bool = False
) -> Response:
    """The ten records nearest this one, with outcome, known label, score and distance."""
    runtime: Runtime = request.app.state.runtime
    context: dict[str, object] = {"record_id": record_id, "standalone": standalone}
    try:
        async with runtime.engine.connect() as connection:
            if standalone:  # the dialog says what the neighbours are compared with
                context["record"] = await catalog.get_record(connection, record_id)
            similarity = runtime.similarity
            vector = await similarity.vector_of(connection, record_id)
            context["items"] = await similarity.nearest(
                connection, vector, SIMILAR, NeighbourFilter(), exclude=record_id
            )
    except Unavailable:
        context["pending"] = True  # not embedded yet: the fragment asks again shortly
    except NotFound as error:
        return render(request, "_similar.html", {**context, "error": error}, user, 404)
    except RiskOpsError as error:
        return render(request, "_similar.html", {**context, "error": error}, user, 400)
    return render(request, "_similar.html", context, user)
