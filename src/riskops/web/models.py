"""Records and predict (seed 004): the records table with a detail dialog, and a predict form
generated from the served models' feature schemas."""

import math
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from riskops.api.deps import WriteConnection, permit
from riskops.api.ports import Runtime
from riskops.auth.roles import Capability
from riskops.core.errors import RiskOpsError, Unavailable
from riskops.ml import catalog, records
from riskops.ml.registry import ModelRegistry
from riskops.web import nav
from riskops.web.filters import FilterError, parse_score, parse_time
from riskops.web.session import CSRF_FIELD, ConsoleUser, check_csrf, read_session, viewer
from riskops.web.templating import render

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleUser, Depends(viewer)]
PAGE_SIZE = 50
LABELS = ("approve", "review", "decline", "fraud", "legit")

nav.register(nav.Page("Records", "/records", order=40))
nav.register(nav.Page("Predict", "/predict", order=50))


def _registry(request: Request) -> ModelRegistry | None:
    runtime: Runtime = request.app.state.runtime
    if not runtime.settings.model_serving:
        return None
    return runtime.model_tasks.registry


@router.get("/records", response_class=HTMLResponse)
async def records_page(request: Request, user: User) -> Response:
    """Every scored record (decisions and predictions), filtered, with a detail dialog."""
    keys = ("model", "label", "from", "to", "min_score", "max_score")
    query = {k: request.query_params.get(k, "").strip() for k in keys}
    offset = request.query_params.get("offset", "0")
    items: list[dict[str, Any]] = []
    total = 0
    error = None
    try:
        start = int(offset) if offset.isdigit() else 0
        if query["label"] and query["label"] not in LABELS:
            raise FilterError(f"`label` must be one of {', '.join(LABELS)}")
        where = catalog.RecordFilter(
            model=query["model"] or None,
            label=query["label"] or None,
            min_score=parse_score("min_score", query["min_score"]),
            max_score=parse_score("max_score", query["max_score"]),
            created_from=parse_time("from", query["from"]),
            created_to=parse_time("to", query["to"]),
        )
        runtime: Runtime = request.app.state.runtime
        async with runtime.engine.connect() as connection:
            items, total = await catalog.list_records(connection, where, PAGE_SIZE, start)
    except FilterError as problem:
        error = str(problem)
        start = 0
    active = {k: v for k, v in query.items() if v}
    context = {
        "items": items,
        "total": total,
        "query": query,
        "labels": LABELS,
        "error": error,
        "filtered": bool(active),
        "first": start + 1 if items else 0,
        "last": start + len(items),
        "prev_url": f"/records?{urlencode({**active, 'offset': max(0, start - PAGE_SIZE)})}"
        if start
        else None,
        "next_url": f"/records?{urlencode({**active, 'offset': start + PAGE_SIZE})}"
        if start + PAGE_SIZE < total
        else None,
    }
    template = (
        "_records_table.html" if request.headers.get("hx-target") == "results" else "records.html"
    )
    return render(request, template, context, user, status_code=400 if error else 200)


@router.get("/records/{record_id}", response_class=HTMLResponse)
async def record_detail(request: Request, record_id: str, user: User) -> Response:
    """One record: features, score, label, model and explanations (the dialog's body)."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as connection:
            record = await catalog.get_record(connection, record_id)
    except RiskOpsError as error:
        return render(request, "_record.html", {"error": error}, user, error.status_code)
    return render(request, "_record.html", {"r": record}, user)


async def _models(request: Request) -> tuple[list[dict[str, Any]], str | None]:
    registry = _registry(request)
    if registry is None:
        return [], "the model registry is still starting (or model serving is off in this process)"
    return await catalog.served_models(registry), None


def _chosen(models: list[dict[str, Any]], model_id: str) -> dict[str, Any] | None:
    for model in models:
        if f"{model['name']}:{model['version']}" == model_id:
            return model
    champions = [m for m in models if "champion" in m["aliases"]]
    pool = champions or models
    return pool[0] if pool else None


# Feature groups of the predict form: what describes this payment first, open; the
# history of each entity below, folded (rarely changed by hand).
GROUPS = (
    ("payment", "This payment", True),
    ("card", "Card history", False),
    ("account", "Account history", False),
    ("device", "Device history", False),
    ("merchant", "Merchant history", False),
)
_HISTORY = re.compile(r"^(card|account|device|merchant)_(count|amount|distinct|delayed|fraud)_")


def _grouped(features: list[dict[str, str]], typical: dict[str, float]) -> list[dict[str, Any]]:
    fields: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in GROUPS}
    for feature in features:
        history = _HISTORY.match(feature["name"])
        value = typical.get(feature["name"], 0.0)
        shown = f"{value:g}" if value == value else "0"
        fields[history.group(1) if history else "payment"].append({**feature, "value": shown})
    return [
        {"key": key, "title": title, "open": is_open, "fields": fields[key]}
        for key, title, is_open in GROUPS
        if fields[key]
    ]


async def _typical(request: Request, chosen: dict[str, Any] | None) -> dict[str, float]:
    """The chosen model's training medians (a typical genuine payment); {} if it has none."""
    registry = _registry(request)
    if chosen is None or registry is None:
        return {}
    runtime: Runtime = request.app.state.runtime
    try:
        served = await records.resolve(
            f"{chosen['name']}:{chosen['version']}",
            runtime.models,
            registry,
            runtime.settings.model_name,
        )
    except RiskOpsError:
        return {}
    return served.model.typical


@router.get("/predict", response_class=HTMLResponse)
async def predict_form(request: Request, user: User, model: str = "") -> Response:
    """A form with the chosen model's features, grouped, prefilled with typical values."""
    models, unavailable = await _models(request)
    chosen = _chosen(models, model)
    typical = await _typical(request, chosen)
    context = {
        "models": models,
        "chosen": chosen,
        "unavailable": unavailable,
        "groups": _grouped(chosen["features"], typical) if chosen else [],
        "prefilled": bool(typical),
    }
    partial = request.headers.get("hx-target") == "predict-form"
    return render(request, "_predict_form.html" if partial else "predict.html", context, user)


def _number(raw: str) -> float | str:
    try:
        value = float(raw)
    except ValueError:
        return raw  # kept as text: the model's validation names it as not numeric
    return value if math.isfinite(value) else raw


@router.post("/predict", response_class=HTMLResponse)
async def predict(request: Request, user: User, connection: WriteConnection) -> Response:
    """Score the form's features with the chosen model; the record is kept."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    runtime: Runtime = request.app.state.runtime
    try:
        check_csrf(request, read_session(request), form.get(CSRF_FIELD))
        permit(user.principal, Capability.SUBMIT_PAYMENTS)  # the API's rule for /v1/predict
        registry = _registry(request)
        if registry is None:
            raise Unavailable("the model registry is still starting; retry in a few seconds")
        model_id = form.get("model_id", "")
        model = await records.resolve(
            model_id, runtime.models, registry, runtime.settings.model_name
        )
        features = {
            name[len("f:") :]: _number(value.strip())
            for name, value in form.items()
            if name.startswith("f:") and value.strip()
        }
        record = await records.predict(
            connection,
            model,
            features,
            runtime.settings.review_threshold,
            user.principal.key_id,
        )
    except RiskOpsError as error:
        context = {"error": error}
        return render(request, "_prediction.html", context, user, error.status_code)
    return render(request, "_prediction.html", {"r": record}, user, status_code=201)
