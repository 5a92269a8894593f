"""The operations console: server-rendered pages (Jinja2 + HTMX) served by the API."""

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from riskops.web import (
    cases,
    investigations,
    lists,
    live,
    models,
    pages,
    payments,
    recommendations,
    rules,
    similar,
)
from riskops.web.session import SignInRequired

STATIC = Path(__file__).parent / "static"


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request") == "true":
        # HTMX follows this header with a full page load instead of swapping a fragment.
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def install(app: FastAPI) -> None:
    """Mount the console's pages and its static assets on the API app."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    for router in (
        pages.router,
        payments.router,
        models.router,
        rules.router,
        lists.router,
        live.router,
        cases.router,
        similar.router,
        investigations.router,
        recommendations.router,
    ):
        app.include_router(router)
