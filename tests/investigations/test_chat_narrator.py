"""The chat narrator against a real local server speaking the chat completions API: a cited
answer is kept; a timeout, malformed JSON, an HTTP error, an uncited answer or one citing
unknown evidence falls back to the template with the reason in the step trace; the request
carries the evidence bundle only (no card number, no key in the prompt), at temperature 0
with the token cap."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr, ValidationError

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.investigations import service
from riskops.investigations.chat import ChatEndpoint, ChatNarrator
from riskops.investigations.narrative import TemplateNarrator
from riskops.investigations.schemas import InvestigationCreate, Mode
from riskops.runtime import build_narrator
from tests.cases.support import pay
from tests.conftest import Api, create_keys, make_settings
from tests.investigations.chat_stub import Reply, StubChatApi, completion, stub_chat_api
from tests.investigations.test_api import sample
from tests.payments import CARD

pytestmark = pytest.mark.settings(embeddings_enabled=False)
KEY = "sk-stub-key-0123456789"


@pytest.fixture
async def chat_api() -> AsyncIterator[StubChatApi]:
    async with stub_chat_api() as stub:
        yield stub


def narrator(stub: StubChatApi, timeout_seconds: float = 5.0) -> ChatNarrator:
    return ChatNarrator(ChatEndpoint(stub.url, "stub-model", SecretStr(KEY), 300, timeout_seconds))


async def investigate(api: Api, told: ChatNarrator) -> dict[str, Any]:
    paid = await pay(api)
    principal = await api.runtime.keys.verify(api.keys[Role.ANALYST], "test")
    request = InvestigationCreate(transaction_id=paid["id"], mode=Mode.QUICK)
    async with api.runtime.engine.begin() as connection:
        return await service.run(
            connection, api.runtime.similarity, request, principal.actor(), told
        )


def narrative_step(found: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in found["trace"] if s["name"] == "narrative")
    return step


async def test_a_cited_answer_is_the_narrative(api: Api, chat_api: StubChatApi) -> None:
    chat_api.reply = completion("A payment was decided for review [E1][E2]. Its card paid [E1].")
    found = await investigate(api, narrator(chat_api))
    assert found["narrative"] == {
        "narrator": "chat",
        "text": "A payment was decided for review [E1][E2]. Its card paid [E1].",
    }
    step = narrative_step(found)
    assert step["inputs"] == {"narrator": "chat"} and step["error"] is None
    assert step["outputs"]["narrator"] == "chat" and step["outputs"]["fallback_from"] is None


@pytest.mark.parametrize(
    ("reply", "timeout", "code"),
    [
        (Reply(200, orjson.dumps({"choices": []}), delay_seconds=3), 0.3, "narrator_timeout"),
        (Reply(200, b'{"choices": [{"message": '), 5.0, "narrator_malformed_response"),
        (Reply(200, orjson.dumps({"error": "no choices"})), 5.0, "narrator_malformed_response"),
        (Reply(500, b'{"error": {"message": "overloaded"}}'), 5.0, "narrator_http_error"),
        (completion("The card was stolen and the payment is fraud."), 5.0, "uncited_narrative"),
        (completion("The card was stolen [E99]."), 5.0, "uncited_narrative"),
        (completion("A payment [E1]. It is surely fraud."), 5.0, "uncited_narrative"),
    ],
    ids=["timeout", "malformed-json", "no-choices", "http-500", "uncited", "unknown", "partly"],
)
async def test_a_refused_answer_falls_back_to_the_template_with_its_reason(
    api: Api, chat_api: StubChatApi, reply: Reply, timeout: float, code: str
) -> None:
    chat_api.reply = reply
    found = await investigate(api, narrator(chat_api, timeout))
    assert found["narrative"]["narrator"] == "template"
    assert found["narrative"]["text"].startswith("Payment ")
    step = narrative_step(found)
    assert step["error"] is None  # the narrative step succeeded: with the template's text
    fallback = step["outputs"]["fallback_from"]
    assert fallback["code"] == code and fallback["message"]
    if "E99" in reply.body.decode():
        assert fallback["details"]["sentences"][0]["unknown"] == ["E99"]
    assert len(chat_api.received) == 1  # asked once, never retried into a slow investigation
    metrics = (await api.client.get("/metrics", headers=api.as_role(Role.VIEWER))).text
    assert (
        sample(metrics, f'riskops_investigation_narrator_fallbacks_total{{reason="{code}"}}') >= 1
    )


async def test_an_unreachable_endpoint_falls_back(api: Api) -> None:
    async with stub_chat_api() as gone:
        url = gone.url
    told = ChatNarrator(ChatEndpoint(url, "m", SecretStr(""), 100, 2.0))
    found = await investigate(api, told)
    assert narrative_step(found)["outputs"]["fallback_from"]["code"] == "narrator_http_error"


async def test_the_request_carries_the_evidence_bundle_only(
    api: Api, chat_api: StubChatApi
) -> None:
    found = await investigate(api, narrator(chat_api))
    [received] = chat_api.received
    assert received.headers["authorization"] == f"Bearer {KEY}"
    text = received.raw.decode()
    paid = await api.client.get(
        f"/v1/transactions/{found['transaction_id']}", headers=api.as_role(Role.VIEWER)
    )
    token = paid.json()["card"]["token"]
    for secret in (KEY, CARD, token):
        assert secret not in text
    body = received.body
    assert body["model"] == "stub-model" and body["temperature"] == 0
    assert body["max_tokens"] == 300
    system, user = body["messages"]
    assert system["role"] == "system" and "[E1]" in system["content"]
    bundle = orjson.loads(user["content"])
    assert set(bundle) == {"evidence", "patterns", "recommendation"}
    assert [e["id"] for e in bundle["evidence"]] == [e["id"] for e in found["evidence"]]
    assert all(set(e) == {"id", "kind", "summary"} for e in bundle["evidence"])
    assert bundle["recommendation"]["evidence_ids"] == found["recommendation"]["evidence_ids"]


def test_the_settings_choose_the_narrator(tmp_path: Path) -> None:
    assert isinstance(build_narrator(make_settings(tmp_path)), TemplateNarrator)
    chosen = build_narrator(
        make_settings(
            tmp_path,
            narrator="chat",
            narrator_url="http://127.0.0.1:9/v1",
            narrator_model="m",
            narrator_api_key="sk-x",
            narrator_timeout="PT3S",
            narrator_max_tokens=50,
        )
    )
    assert isinstance(chosen, ChatNarrator)
    assert chosen.endpoint.completions_url == "http://127.0.0.1:9/v1/chat/completions"
    assert chosen.endpoint.timeout_seconds == 3.0 and chosen.endpoint.max_tokens == 50
    assert "sk-x" not in repr(chosen.endpoint)  # a SecretStr: logs and reprs hide it
    with pytest.raises(ValidationError, match="RISKOPS_NARRATOR_URL"):
        make_settings(tmp_path, narrator="chat")


@pytest.mark.timeout(120)
async def test_the_api_narrates_with_the_configured_endpoint(
    chat_api: StubChatApi, database_url: str, tmp_path: Path
) -> None:
    chat_api.reply = completion("The payment was decided [E2].")
    settings = make_settings(
        tmp_path,
        database_url,
        embeddings_enabled=False,
        narrator="chat",
        narrator_url=chat_api.url,
        narrator_model="stub-model",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        keys = await create_keys(app.state.runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            api = Api(client, app.state.runtime, keys)
            paid = await pay(api)
            response = await client.post(
                "/v1/investigations",
                json={"transaction_id": paid["id"], "mode": "quick"},
                headers=api.as_role(Role.ANALYST),
            )
    assert response.status_code == 201, response.text
    assert response.json()["narrative"] == {
        "narrator": "chat",
        "text": "The payment was decided [E2].",
    }
    assert "authorization" not in chat_api.received[0].headers  # no key configured, none sent
