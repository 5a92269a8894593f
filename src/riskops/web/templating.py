"""The console's Jinja environment and display filters (money, scores, times)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from riskops.api.ports import Runtime
from riskops.web import nav
from riskops.web.session import CSRF_FIELD, ConsoleUser

NONE = "\u2013"  # en dash: "no value yet"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _money(minor: int | float | None, currency: str = "") -> str:
    if minor is None:
        return NONE
    text = f"{minor / 100:,.2f}"
    return f"{text} {currency}".strip()


def _when(value: datetime | None) -> str:
    if value is None:
        return NONE
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%H:%M:%S") if value else NONE


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


templates.env.filters.update(money=_money, when=_when, clock=_clock, pct=_pct, ms=_ms)


def model_status(request: Request) -> dict[str, Any] | None:
    """The status line's model state: training the first champion, serving one, or rules alone."""
    runtime: Runtime = request.app.state.runtime
    server = runtime.models
    champion = server.champion
    if champion is not None:
        since = server.champion_since
        return {"state": "serving", "text": f"model: {champion.name} v{champion.version}",
                "since": since}  # fmt: skip
    if server.training_since is not None:
        return {"state": "training", "text": "model: training the first champion…",
                "since": server.training_since}  # fmt: skip
    if not runtime.settings.model_serving:
        return {"state": "off", "text": "model serving off: rules alone", "since": None}
    if not server.loaded:
        return {"state": "loading", "text": "model: loading…", "since": None}
    return {"state": "none", "text": "model: none yet, rules alone", "since": None}


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    user: ConsoleUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    base = {
        "user": user,
        "nav": nav.pages(),
        "csrf_field": CSRF_FIELD,
        "csrf": user.csrf if user else context.get("csrf", ""),
        "path": request.url.path,
        "partial": request.headers.get("hx-request") == "true",
        "model_status": model_status(request) if user else None,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
