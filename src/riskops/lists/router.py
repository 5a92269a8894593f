"""HTTP for lists: viewers read; analysts, approvers and admins change (every change audited)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from riskops.api.deps import ReadConnection, Reader, RuntimeDep, WriteConnection, require
from riskops.api.responses import ERRORS, json_response
from riskops.auth.roles import Capability
from riskops.auth.service import Principal
from riskops.lists import service
from riskops.lists.schemas import EntriesAdd, EntriesAdded, EntryPage, ListCreate, ValueListOut

router = APIRouter(prefix="/v1/lists", tags=["lists"])
ListEditor = Annotated[Principal, Depends(require(Capability.MANAGE_LISTS))]
ListName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


@router.get("", response_model=list[ValueListOut], responses=ERRORS)
async def list_lists(connection: ReadConnection, _: Reader) -> Response:
    """Every list with its kind, purpose and number of live entries."""
    return json_response(await service.lists(connection))


@router.post("", status_code=201, response_model=ValueListOut, responses=ERRORS)
async def create_list(
    body: ListCreate, connection: WriteConnection, principal: ListEditor
) -> Response:
    """Create an empty list; 409 if the name is taken."""
    created = await service.create_list(
        connection, principal.actor(), body.name, body.kind, body.purpose, body.description
    )
    return json_response(created, 201)


@router.get("/{name}/entries", response_model=EntryPage, responses=ERRORS)
async def list_entries(
    name: ListName,
    connection: ReadConnection,
    runtime: RuntimeDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00]*$")] = None,
) -> Response:
    """Entries in value order (cards as tokens), expired ones included, a page at a time."""
    limit = min(limit, runtime.settings.page_size_max)
    items, next_cursor = await service.entries(connection, name, cursor or None, limit)
    return json_response({"items": items, "next_cursor": next_cursor})


@router.post("/{name}/entries", status_code=201, response_model=EntriesAdded, responses=ERRORS)
async def add_entries(
    name: ListName,
    body: EntriesAdd,
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: ListEditor,
) -> Response:
    """Add values (all or none); values already present get the new reason and expiry."""
    added = await service.add_entries(
        connection,
        principal.actor(),
        name,
        body.values,
        body.reason,
        body.expires_at,
        runtime.settings.token_secret(),
    )
    return json_response(added, 201)


@router.delete("/{name}/entries/{value:path}", status_code=204, responses=ERRORS)
async def remove_entry(
    name: ListName,
    value: Annotated[str, Path(max_length=255, pattern=r"^[^\x00]*$")],
    connection: WriteConnection,
    runtime: RuntimeDep,
    principal: ListEditor,
) -> Response:
    """Remove one value (a card by number or token; an IP network in CIDR form)."""
    await service.remove_entry(
        connection, principal.actor(), name, value, runtime.settings.token_secret()
    )
    return Response(status_code=204)
