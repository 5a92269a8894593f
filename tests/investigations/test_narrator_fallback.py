"""A narrator whose text cites nothing, or unknown evidence, or that fails, is replaced by
the template narrator; the trace says which wrote the narrative and why."""

import pytest

from riskops.auth.roles import Role
from riskops.investigations import service
from riskops.investigations.narrative import Findings
from riskops.investigations.schemas import InvestigationCreate, Mode
from tests.cases.support import pay
from tests.conftest import Api

pytestmark = pytest.mark.settings(embeddings_enabled=False)


class Scripted:
    """A Narrator adapter that answers what it is told to (an outside engine's stand-in)."""

    name = "scripted"

    def __init__(self, answer: str | None) -> None:
        self.answer = answer

    async def narrate(self, findings: Findings) -> str:
        if self.answer is None:
            raise TimeoutError("the narrator did not answer in time")
        return self.answer


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("The card was stolen.", "uncited_narrative"),
        ("The card was stolen [E99].", "uncited_narrative"),
        (None, "TimeoutError"),
    ],
)
async def test_a_refused_narrative_falls_back_to_the_template(
    api: Api, answer: str | None, code: str
) -> None:
    paid = await pay(api)
    principal = await api.runtime.keys.verify(api.keys[Role.ANALYST], "test")
    request = InvestigationCreate(transaction_id=paid["id"], mode=Mode.QUICK)
    async with api.runtime.engine.begin() as connection:
        found = await service.run(
            connection, api.runtime.similarity, request, principal.actor(), Scripted(answer)
        )
    assert found["narrative"]["narrator"] == "template" and "[E1]" in found["narrative"]["text"]
    step = next(s for s in found["trace"] if s["name"] == "narrative")
    assert step["inputs"] == {"narrator": "scripted"} and step["error"] is None
    assert step["outputs"]["fallback_from"]["code"] == code


async def test_a_well_cited_narrative_is_kept(api: Api) -> None:
    paid = await pay(api)
    principal = await api.runtime.keys.verify(api.keys[Role.ANALYST], "test")
    request = InvestigationCreate(transaction_id=paid["id"])
    async with api.runtime.engine.begin() as connection:
        found = await service.run(
            connection,
            api.runtime.similarity,
            request,
            principal.actor(),
            Scripted("A payment [E1] was decided [E2]."),
        )
    assert found["narrative"] == {
        "narrator": "scripted",
        "text": "A payment [E1] was decided [E2].",
    }
