"""The committed JSON Schemas (docs/events/) describe exactly what the code emits."""

from pathlib import Path

import orjson
from jsonschema import Draft202012Validator
from sqlalchemy import select

from riskops.auth.roles import Role
from riskops.contracts import event_schemas, schema_file
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.events.envelope import ASSESSMENTS_TOPIC, TRANSACTIONS_TOPIC
from riskops.events.models import EventLogEntry
from riskops.simulation.generator import Simulator
from riskops.simulation.service import label_event, submitted_event
from tests.conftest import Api
from tests.payments import new_key, payment

DOCS = Path(__file__).parents[2] / "docs" / "events"
event_log = table_of(EventLogEntry)


def committed(event_type: str) -> Draft202012Validator:
    schema = orjson.loads((DOCS / schema_file(event_type)).read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_committed_schemas_are_the_generated_ones() -> None:
    schemas = event_schemas()
    assert schemas, "no event schema generated: the comparison below would check nothing"
    for event_type, schema in schemas.items():
        path = DOCS / schema_file(event_type)
        assert path.exists(), f"{path} is missing: run `riskops events schemas`"
        assert orjson.loads(path.read_bytes()) == schema, f"{path} is stale"


async def test_what_the_api_emits_matches_the_committed_schemas(api: Api) -> None:
    analyst = api.as_role(Role.ANALYST)
    bodies = [
        payment(),
        payment(merchant_country="KP", amount_minor=99_000, ip="203.0.113.9"),
        payment(account_id="acct-2", channel="ecom", device_id=None, user_id="user-9"),
    ]
    for body in bodies:
        response = await api.client.post(
            "/v1/transactions", json=body, headers={**analyst, "Idempotency-Key": new_key()}
        )
        assert response.status_code == 201
    await api.runtime.events.drain()
    async with api.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(event_log.c.topic, event_log.c.value))).all()
    seen = {TRANSACTIONS_TOPIC: 0, ASSESSMENTS_TOPIC: 0}
    for topic, value in rows:
        event = orjson.loads(value)
        errors = list(committed(event["type"]).iter_errors(event))
        assert errors == [], [e.message for e in errors]
        seen[topic] += 1
    assert seen == {TRANSACTIONS_TOPIC: 3, ASSESSMENTS_TOPIC: 3}


def test_what_the_simulator_emits_matches_the_committed_schemas() -> None:
    simulator = Simulator(seed=3, start=utcnow(), rate=100)
    for _ in range(300):
        simulated = simulator.next()
        submitted = submitted_event(simulated)
        assert list(committed(submitted["type"]).iter_errors(submitted)) == []
        for transaction_id in (None, "01JTESTTRANSACTION00000000"):
            labelled = label_event(simulated, transaction_id, utcnow())
            assert list(committed(labelled["type"]).iter_errors(labelled)) == []


def test_the_schemas_reject_what_they_should() -> None:
    simulated = Simulator(seed=3, start=utcnow(), rate=100).next()
    submitted = submitted_event(simulated)
    validator = committed(submitted["type"])
    assert not validator.is_valid({**submitted, "id": "not-a-ulid"})
    assert not validator.is_valid({**submitted, "data": {**submitted["data"], "amount_minor": -1}})
    assert not validator.is_valid({**submitted, "data": {**submitted["data"], "extra": 1}})
    labelled = label_event(simulated, None, utcnow())
    labels = committed(labelled["type"])
    no_target = {k: v for k, v in labelled["data"].items() if k != "idempotency_key"}
    assert not labels.is_valid({**labelled, "data": no_target})
    assert not labels.is_valid({**labelled, "data": {**labelled["data"], "label": 2}})
