"""The `Narrator` port and its default: a deterministic template narrator whose every sentence
cites evidence ids ("[E3]"), and the citation check any narrator's output must pass.

The port is async because its other adapter (`chat.py`) asks a model over the network."""

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from riskops.core.errors import Unprocessable
from riskops.investigations.evidence import Evidence
from riskops.investigations.tools.context import Context, money
from riskops.investigations.tools.patterns import Pattern
from riskops.investigations.tools.recommend import Recommendation
from riskops.investigations.tools.similar import SimilarCases

CITATION = re.compile(r"\[([ES]\d+)\]")
# A sentence ends at . ! or ? followed by a space or the end, keeping any citations before it.
SENTENCE = re.compile(r"[^.!?]+(?:[.!?](?=\s|$)|$)")


class UncitedNarrative(Unprocessable):
    code = "uncited_narrative"


@dataclass(frozen=True, slots=True)
class Findings:
    context: Context
    patterns: list[Pattern]
    similar: SimilarCases | None
    recommendation: Recommendation | None

    @property
    def evidence(self) -> list[Evidence]:
        return self.context.evidence + (self.similar.evidence if self.similar else [])


class Narrator(Protocol):
    name: str

    async def narrate(self, findings: Findings) -> str: ...


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def problems(text: str, known: Collection[str]) -> list[dict[str, object]]:
    """Every sentence that cites nothing, or cites an id that is not evidence."""
    found: list[dict[str, object]] = []
    for index, sentence in enumerate(sentences(text)):
        cited = CITATION.findall(sentence)
        unknown = sorted(set(cited) - set(known))
        if not cited or unknown:
            found.append({"sentence": index, "text": sentence, "unknown": unknown})
    return found


def check(text: str, known: Collection[str]) -> str:
    """The narrative if every sentence cites known evidence, else UncitedNarrative."""
    found = problems(text, known)
    if found or not text.strip():
        raise UncitedNarrative(
            "every sentence of a narrative must cite evidence by id", {"sentences": found}
        )
    return text


def _cite(ids: list[str]) -> str:
    return "".join(f"[{i}]" for i in ids)


class TemplateNarrator:
    """Templates over the findings: deterministic, instant, and cited by construction."""

    name = "template"

    async def narrate(self, findings: Findings) -> str:
        return self.text(findings)

    def text(self, findings: Findings) -> str:
        c = findings.context
        t = c.transaction
        d = t["decision"]
        lines = [
            f"Payment {t['id']} of {money(t['amount_minor'], t['currency'])} at merchant "
            f"{t['merchant_id']} was decided {d['status']} with score {d['score']:.2f} "
            f"{_cite(c.ref('transaction') + c.ref('decision'))}."
        ]
        hits = [c.refs[k] for k in c.refs if k.startswith("rule:")]
        if hits:
            lines.append(f"{len(hits)} rule(s) hit {_cite(hits)}.")
        if c.block_hits:
            blocks = sorted({c.refs[k] for k in c.refs if k.startswith("block:")})
            lines.append(f"It matches block list entries {_cite(blocks)}.")
        card = c.ref("history:card")
        if card:
            lines.append(
                f"The card made {len(c.histories.get('card', []))} other payment(s) in the "
                f"window before it {_cite(card)}."
            )
        if not findings.patterns:
            cited = _cite(card or c.ref("transaction"))
            lines.append(f"No anomaly pattern was found in its history {cited}.")
        for p in findings.patterns:
            if p.evidence_ids:
                lines.append(
                    f"Pattern {p.name} (strength {p.strength:.2f}): {p.explanation} "
                    f"{_cite(p.evidence_ids)}."
                )
        s = findings.similar
        if s is not None and s.summary_id is not None:
            lines.append(
                f"Among the {len(s.neighbours)} most similar past payments, {s.fraud} of "
                f"{s.labelled} labelled are fraud {_cite([s.summary_id])}."
            )
        r = findings.recommendation
        if r is not None and r.evidence_ids:
            # The pattern's own sentence already explains it; a policy override says why.
            why = f" because {r.explanation}" if r.constraints or not findings.patterns else ""
            lines.append(
                f"Recommended: {r.action.value.replace('_', ' ')} (confidence "
                f"{r.confidence:.2f}){why} {_cite(r.evidence_ids)}."
            )
        # Explanations may hold dots (amounts, scores): keep each line one sentence.
        return " ".join(line.replace(". ", ", ") for line in lines)
