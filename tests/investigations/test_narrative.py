"""Every sentence of a narrative cites evidence that exists; the template narrator passes."""

import pytest

from riskops.investigations.narrative import (
    Findings,
    TemplateNarrator,
    UncitedNarrative,
    check,
    problems,
)
from riskops.investigations.tools import patterns, recommend
from riskops.investigations.tools.similar import summarise
from tests.investigations.crafted import context, earlier
from tests.investigations.test_recommend import neighbours


def test_the_check_accepts_cited_sentences_and_rejects_uncited_or_unknown_ones() -> None:
    known = ["E1", "E2", "S1"]
    assert check("Paid 0.50 EUR [E1]. Similar ones are fraud [S1][E2].", known)
    assert problems("Paid [E1]. The card is stolen.", known) == [
        {"sentence": 1, "text": "The card is stolen.", "unknown": []}
    ]
    assert problems("Paid [E9].", known)[0]["unknown"] == ["E9"]
    with pytest.raises(UncitedNarrative) as raised:
        check("Paid [E1]. No citation here!", known)
    assert raised.value.details["sentences"][0]["sentence"] == 1
    with pytest.raises(UncitedNarrative):
        check("", known)


def test_the_template_narrative_cites_every_sentence_with_known_evidence() -> None:
    burst = [earlier(m, amount_minor=100, merchant_id=f"m-{m}") for m in range(2, 40, 4)]
    ctx = context(histories={"card": burst}, block_hits=["blocked_cards"])
    found = patterns.detect(ctx)
    similar = summarise(neighbours(fraud=3, legit=1))
    advice = recommend.recommend(ctx, found, similar)
    findings = Findings(ctx, found, similar, advice)
    text = TemplateNarrator().text(findings)
    assert check(text, [e.id for e in findings.evidence]) == text
    assert "card_testing" in text and "decline" in text and "[S" in text


def test_a_quiet_payment_still_gets_a_cited_narrative() -> None:
    ctx = context()
    findings = Findings(ctx, [], None, recommend.recommend(ctx, [], None))
    text = TemplateNarrator().text(findings)
    assert check(text, [e.id for e in ctx.evidence]) == text
    assert "No anomaly pattern" in text
