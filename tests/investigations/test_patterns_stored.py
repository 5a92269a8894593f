"""The newer patterns on payments stored through the API (not crafted contexts): impossible
travel, an IP shared within the window, a card shared by accounts; and the metrics a run
leaves behind."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from riskops.auth.roles import Role
from riskops.decisions.cards import with_check_digit
from tests.cases.support import pay
from tests.conftest import Api
from tests.investigations.test_api import investigate, sample

pytestmark = pytest.mark.settings(embeddings_enabled=False)


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def test_a_card_present_in_brazil_then_germany_two_hours_later(api: Api) -> None:
    await pay(api, merchant_country="BR", channel="pos", occurred_at=ago(2))
    last = await pay(api, merchant_country="DE", channel="pos")
    found = await investigate(api, transaction_id=last["id"])
    travel = next(p for p in found["patterns"] if p["name"] == "impossible_travel")
    assert travel["entity"]["kind"] == "card"
    assert (travel["facts"]["from_country"], travel["facts"]["to_country"]) == ("BR", "DE")
    assert travel["facts"]["speed_kmh"] > 900
    cited = {e["id"]: e["kind"] for e in found["evidence"]}
    assert [cited[i] for i in travel["evidence_ids"]] == ["transaction", "history"]
    assert found["recommendation"]["action"] == "block_card"
    # Online in Brazil before: the merchant's country says nothing about where the card was.
    other = {"card_number": with_check_digit("5" + "1" * 14), "account_id": "acct-2"}
    calm = await pay(api, **other, merchant_country="BR", channel="ecom", occurred_at=ago(3))
    home = await pay(api, **other, merchant_country="DE")
    again = await investigate(api, transaction_id=home["id"])
    assert calm["id"] != home["id"]
    assert "impossible_travel" not in {p["name"] for p in again["patterns"]}


async def test_cards_sharing_an_ip_within_the_window_are_linked(api: Api) -> None:
    for i in range(3):
        last = await pay(
            api,
            card_number=with_check_digit(f"5{i:014d}"),
            device_id=f"dev-own-{i}",
            ip="203.0.113.7",
        )
    found = await investigate(api, transaction_id=last["id"])
    linked = next(p for p in found["patterns"] if p["name"] == "linked_entities")
    assert linked["entity"] == {"kind": "ip", "id": "203.0.113.7"}
    assert linked["facts"] == {"kind": "ip", "cards": 3}
    links = next(e for e in found["evidence"] if e["id"] in linked["evidence_ids"])
    assert "within the 72 h" in links["summary"]
    assert found["recommendation"]["action"] == "watch_list_entity"


async def test_a_card_used_by_three_accounts_is_linked_without_showing_its_token(
    api: Api,
) -> None:
    for account in ("acct-1", "acct-2", "acct-3"):
        last = await pay(api, account_id=account, device_id=f"dev-{account}")
    found = await investigate(api, transaction_id=last["id"])
    linked = next(p for p in found["patterns"] if p["name"] == "linked_entities")
    assert linked["entity"]["kind"] == "card"
    assert linked["facts"] == {"kind": "card", "accounts": 3}
    links = next(e for e in found["evidence"] if e["id"] in linked["evidence_ids"])
    assert links["summary"] == "The card was used by 3 accounts"
    assert linked["entity"]["id"] not in found["narrative"]["text"]


async def test_runs_fetches_and_missing_recommendations_are_counted(api: Api) -> None:
    viewer = api.as_role(Role.VIEWER)

    async def exposed(series: str) -> float:
        text = (await api.client.get("/metrics", headers=viewer)).text
        return sample(text, series)

    runs = 'riskops_investigation_duration_seconds_count{mode="quick"}'
    failed = 'riskops_investigation_recommendation_failures_total{mode="quick"}'
    fetched = "riskops_investigation_fetch_seconds_count"
    before = {s: await exposed(s) for s in (runs, failed, fetched)}
    found = await investigate(api, transaction_id=(await pay(api))["id"], mode="quick")
    assert found["recommendation"] is not None
    response = await api.client.get(f"/v1/investigations/{found['id']}", headers=viewer)
    assert response.status_code == 200
    after = {s: await exposed(s) for s in (runs, failed, fetched)}
    assert after[runs] == before[runs] + 1
    assert after[fetched] == before[fetched] + 1
    assert after[failed] == before[failed]  # a recommendation was made: no failure counted


async def test_a_run_without_a_recommendation_is_counted_as_a_failure(api: Api) -> None:
    paid = await pay(api)
    failed = 'riskops_investigation_recommendation_failures_total{mode="quick"}'
    viewer = api.as_role(Role.VIEWER)
    before = sample((await api.client.get("/metrics", headers=viewer)).text, failed)
    # A real failure of the engine under the context tool: the block lists' table is gone.
    async with api.runtime.engine.begin() as connection:
        await connection.execute(text("DROP TABLE list_entries"))
    found = await investigate(api, transaction_id=paid["id"], mode="quick")
    context = next(s for s in found["trace"] if s["name"] == "context")
    assert context["error"] is not None and found["recommendation"] is None
    after = sample((await api.client.get("/metrics", headers=viewer)).text, failed)
    assert after == before + 1
