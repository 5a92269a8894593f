"""The optional narrator: any OpenAI-compatible chat completions endpoint writes the narrative.

It is bounded on every side: it sees only the evidence bundle (evidence ids, kinds and the
one-line summaries analysts read, and the patterns and recommendation citing them; never a
card number, token or key), answers at temperature 0 within a token cap and a timeout, and
whatever it writes must still pass the template narrator's citation check. Any failure
raises here; the service records why and uses the template's narrative instead.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from riskops.core.errors import Unavailable
from riskops.investigations.narrative import Findings

SYSTEM_PROMPT = (
    "You write the narrative of a payment-fraud investigation for an analyst, from the JSON "
    "evidence bundle you are given and nothing else. Write at most six plain sentences. End "
    "every sentence with the ids of the evidence it rests on in square brackets, for example "
    "[E1][E3]; cite only ids that appear in the bundle's evidence. Do not decide anything: "
    "state what the evidence, patterns and recommendation say."
)


class NarratorFailed(Unavailable):
    """The endpoint gave no usable text; the code in the step trace says which way."""

    code = "narrator_failed"


class NarratorTimeout(NarratorFailed):
    code = "narrator_timeout"


class NarratorHttpError(NarratorFailed):
    code = "narrator_http_error"


class NarratorMalformed(NarratorFailed):
    code = "narrator_malformed_response"


@dataclass(frozen=True, slots=True)
class ChatEndpoint:
    url: str  # the API's base, e.g. https://api.openai.com/v1 (…/chat/completions is added)
    model: str
    api_key: SecretStr
    max_tokens: int
    timeout_seconds: float

    @property
    def completions_url(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


def bundle(findings: Findings) -> dict[str, Any]:
    """What the model may read: evidence as analysts see it, and the findings citing it.

    Evidence `data` (raw rows, entity ids such as card tokens) stays home on purpose."""
    r = findings.recommendation
    return {
        "evidence": [{"id": e.id, "kind": e.kind, "summary": e.summary} for e in findings.evidence],
        "patterns": [
            {
                "name": p.name,
                "strength": round(p.strength, 2),
                "explanation": p.explanation,
                "evidence_ids": p.evidence_ids,
            }
            for p in findings.patterns
        ],
        "recommendation": None
        if r is None
        else {
            "action": r.action.value,
            "confidence": r.confidence,
            "explanation": r.explanation,
            "evidence_ids": r.evidence_ids,
        },
    }


def request_body(endpoint: ChatEndpoint, findings: Findings) -> dict[str, Any]:
    return {
        "model": endpoint.model,
        "temperature": 0,
        "max_tokens": endpoint.max_tokens,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": orjson.dumps(bundle(findings)).decode()},
        ],
    }


def answer_text(document: Any) -> str:
    """choices[0].message.content, or NarratorMalformed naming what was missing."""
    try:
        content = document["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as missing:
        raise NarratorMalformed(
            "the narrator's answer has no choices[0].message.content",
            {"missing": repr(missing)},
        ) from None
    if not isinstance(content, str) or not content.strip():
        raise NarratorMalformed("the narrator's answer is empty", {})
    return content.strip()


class ChatNarrator:
    """A `Narrator` over an OpenAI-compatible endpoint. One short-lived client per narrative:
    narratives are rare next to their seconds of model time, so pooling buys nothing and
    there is nothing to close at shutdown."""

    name = "chat"

    def __init__(self, endpoint: ChatEndpoint) -> None:
        self.endpoint = endpoint

    def _headers(self) -> dict[str, str]:
        key = self.endpoint.api_key.get_secret_value()
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def narrate(self, findings: Findings) -> str:
        endpoint = self.endpoint
        body = request_body(endpoint, findings)
        try:
            # One deadline for the whole exchange: httpx's own timeouts are per read, so a
            # server trickling bytes could otherwise hold the investigation for ever.
            async with asyncio.timeout(endpoint.timeout_seconds):
                async with httpx.AsyncClient(timeout=endpoint.timeout_seconds) as client:
                    response = await client.post(
                        endpoint.completions_url, json=body, headers=self._headers()
                    )
        except (TimeoutError, httpx.TimeoutException):
            raise NarratorTimeout(
                f"the narrator did not answer within {endpoint.timeout_seconds:g} s",
                {"timeout_seconds": endpoint.timeout_seconds},
            ) from None
        except httpx.HTTPError as error:
            raise NarratorHttpError(
                f"the narrator could not be reached: {type(error).__name__}", {}
            ) from None
        if response.status_code != 200:
            raise NarratorHttpError(
                f"the narrator answered HTTP {response.status_code}",
                {"status": response.status_code},
            )
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise NarratorMalformed(
                "the narrator's answer is not JSON", {"bytes": len(response.content)}
            ) from None
        return answer_text(document)
