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
from riskops.ml.feature_schema import FeatureField, FeatureSchema, FieldType
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
    runtime: Runtime = request.app.state.runtime
    served = await catalog.served_models(registry, runtime.models, runtime.settings.model_name)
    return served, None


def _chosen(models: list[dict[str, Any]], model_id: str) -> dict[str, Any] | None:
    for model in models:
        if f"{model['name']}:{model['version']}" == model_id:
            return model
    champions = [m for m in models if "champion" in m["aliases"]]
    pool = champions or models
    return pool[0] if pool else None


# Feature groups of the fraud model's form: what describes this payment first, open; the
# history of each entity below, folded (rarely changed by hand). A model trained on another
# table has one group of its own columns.
GROUPS = (
    ("payment", "This payment", True),
    ("card", "Card history", False),
    ("account", "Account history", False),
    ("device", "Device history", False),
    ("merchant", "Merchant history", False),
)
_HISTORY = re.compile(r"^(card|account|device|merchant)_(count|amount|distinct|delayed|fraud)_")


def _shown(feature: dict[str, Any]) -> str:
    """The field's starting value as the form shows it: its typical value, else blank/0."""
    value = feature.get("typical")
    if value is None:
        return "" if feature["nullable"] or feature["type"] == "category" else "0"
    if isinstance(value, str):
        return value
    if feature["type"] == "boolean":
        return "true" if value >= 0.5 else "false"
    return f"{value:g}"


def _hint(feature: dict[str, Any]) -> str:
    """What a person should type, under the field: its description, then range or choices."""
    parts = [feature["description"]] if feature["description"] != feature["name"] else []
    low, high = feature.get("minimum"), feature.get("maximum")
    if feature["type"] in {"number", "integer"} and low is not None and high is not None:
        seen = "allowed" if feature["bounded"] else "seen in training"
        parts.append(f"{feature['type']}, {low:g} to {high:g} {seen}")
    elif feature["type"] == "category":
        parts.append(f"{len(feature['categories'])} categories")
    if feature["nullable"]:
        parts.append("may be left empty")
    return " · ".join(parts)


def _grouped(features: list[dict[str, Any]], typed: bool) -> list[dict[str, Any]]:
    if typed:
        fields = [{**f, "value": _shown(f), "hint": _hint(f)} for f in features]
        return [{"key": "features", "title": "Features", "open": True, "fields": fields}]
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in GROUPS}
    for feature in features:
        history = _HISTORY.match(feature["name"])
        shown = {**feature, "value": _shown(feature), "hint": feature["description"]}
        grouped[history.group(1) if history else "payment"].append(shown)
    return [
        {"key": key, "title": title, "open": is_open, "fields": grouped[key]}
        for key, title, is_open in GROUPS
        if grouped[key]
    ]


def _is_typed(chosen: dict[str, Any]) -> bool:
    """A model trained on a table (any non-number field, or a range) rather than the fraud
    model's logged features."""
    return any(f["type"] != "number" or f["minimum"] is not None for f in chosen["features"])


@router.get("/predict", response_class=HTMLResponse)
async def predict_form(request: Request, user: User, model: str = "") -> Response:
    """A form with the chosen model's features, typed, prefilled with typical values."""
    models, unavailable = await _models(request)
    chosen = _chosen(models, model)
    typed = _is_typed(chosen) if chosen else False
    context = {
        "models": models,
        "chosen": chosen,
        "unavailable": unavailable,
        "typed": typed,
        "groups": _grouped(chosen["features"], typed) if chosen else [],
        "prefilled": any(f["typical"] is not None for f in (chosen or {}).get("features", [])),
    }
    partial = request.headers.get("hx-target") == "predict-form"
    return render(request, "_predict_form.html" if partial else "predict.html", context, user)


def _number(raw: str) -> float | str:
    try:
        value = float(raw)
    except ValueError:
        return raw  # kept as text: the model's validation names it as not numeric
    return value if math.isfinite(value) else raw


def _typed_value(field: FeatureField | None, raw: str) -> Any:
    """A form's text as the JSON value the API would receive for this field."""
    if field is None or field.type is FieldType.NUMBER:
        return _number(raw)
    if field.type is FieldType.CATEGORY:
        return raw
    if field.type is FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(raw.lower(), raw)
    value = _number(raw)  # an integer: 3 and 3.0 are the same integer, 3.5 is refused
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _form_features(schema: FeatureSchema, form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as a payload; an empty field is null where the model accepts it,
    else left out (the validation names it as missing)."""
    features: dict[str, Any] = {}
    for key, value in form.items():
        if not key.startswith("f:"):
            continue
        name, raw = key[len("f:") :], value.strip()
        field = schema.get(name)
        if raw:
            features[name] = _typed_value(field, raw)
        elif field is not None and field.nullable:
            features[name] = None
    return features


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
        record = await records.predict(
            connection,
            model,
            _form_features(records.schema_of(model), form),
            runtime.settings.review_threshold,
            user.principal.key_id,
        )
    except RiskOpsError as error:
        context = {"error": error}
        return render(request, "_prediction.html", context, user, error.status_code)
    return render(request, "_prediction.html", {"r": record}, user, status_code=201)
