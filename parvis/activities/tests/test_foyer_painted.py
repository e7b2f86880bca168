"""The household pages' parts drawn in Python (issue 23, the journey's CPU) are the markup of the
templates they replace, whitespace aside: the confirmation's days (Painter.summary against
includes/resume.html)."""

import re
from datetime import date

import pytest
from django.template.loader import get_template
from django.utils.translation import override

from parvis.activities.painter import Painter

EVIL = '<script>alert("x")</script> & Co'


def squeezed(html: str) -> str:
    html = re.sub(r"\s+", " ", str(html))
    html = re.sub(r"\s*>\s*", ">", html)
    return re.sub(r"\s*<\s*", "<", html).strip()


def line(day, label="Restauration", code="REPAS", **extra):
    return {"day": day.isoformat(), "date": day, "label": label, "code": code, **extra}


SUMMARIES = {
    "added": {
        "added": [
            line(date(2026, 12, 7), pending=False),
            line(date(2026, 12, 8), label=EVIL, code="A&B", pending=True),
        ],
        "waiting": [],
        "removed": [],
    },
    "waiting and removed": {
        "added": [],
        "waiting": [
            line(date(2026, 12, 9), pending=False, rank=2),
            line(date(2026, 12, 10), pending=False, rank=None),
        ],
        "removed": [line(date(2026, 12, 11)), line(date(2026, 12, 13), label="L'accueil")],
    },
    "all": {
        "added": [line(date(2027, 1, 4), pending=True)],
        "waiting": [line(date(2027, 1, 5), rank=1)],
        "removed": [line(date(2027, 1, 6), code=EVIL)],
    },
    "nothing": {"added": [], "waiting": [], "removed": []},
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("case", SUMMARIES)
@pytest.mark.parametrize("level", [2, 3])
def test_the_confirmations_days_are_the_summary_templates(case, language, level):
    lines = SUMMARIES[case]
    with override(language):
        expected = get_template("activities/includes/resume.html").render(
            {"lines": lines, "level": level}
        )
        painted = Painter(None).summary(lines, level=level)
    assert squeezed(painted) == squeezed(expected)


def test_the_confirmations_days_say_their_texts_escaped():
    with override("fr"):
        html = Painter(None).summary(SUMMARIES["all"], level=3)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "<li>lundi 04/01/2027 — Restauration (REPAS) — " in html
    assert "en attente d'instruction</li>" in html
    assert "mardi 05/01/2027 — Restauration (REPAS) — rang 1</li>" in html
