"""The household pages' parts drawn in Python (issue 23, the journey's CPU) are the markup of the
templates they replace, whitespace aside: the confirmation's days (Painter.summary against
includes/resume.html), the basket's (Painter.basket against includes/panier_jours.html), the
grid's « précédent / suivant » (Painter.period_nav against includes/foyer_periode.html)."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.template.loader import get_template
from django.utils.translation import override

from parvis.activities.painter import Painter
from parvis.activities.selectors_foyer import VUES, FoyerCell, period

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


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_rank_is_written_as_the_template_writes_a_number(language, settings):
    """{% blocktranslate with rank=… %} localises its number (« rang 1 234 » with the thousands
    separator on): the painted line too."""
    settings.USE_THOUSAND_SEPARATOR = True
    lines = {"added": [], "removed": [], "waiting": [line(date(2027, 1, 5), rank=1234)]}
    with override(language):
        expected = get_template("activities/includes/resume.html").render(
            {"lines": lines, "level": 2}
        )
        painted = Painter(None).summary(lines, level=2)
    assert "1234" not in expected  # the separator is on: the comparison means something
    assert squeezed(painted) == squeezed(expected)


def test_the_confirmations_days_say_their_texts_escaped():
    with override("fr"):
        html = Painter(None).summary(SUMMARIES["all"], level=3)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "<li>lundi 04/01/2027 — Restauration (REPAS) — " in html
    assert "en attente d'instruction</li>" in html
    assert "mardi 05/01/2027 — Restauration (REPAS) — rang 1</li>" in html


def cell(day, unit, *, child=11, note="", problem=None, booked=False):
    made = FoyerCell(
        unit=unit, day=day, child=SimpleNamespace(pk=child), ident=(child, unit.pk, day)
    )
    made.status = "reservee" if booked else None
    made.note, made.problem = note, problem
    return made


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_baskets_days_are_the_basket_template(language):
    meal = SimpleNamespace(pk=8, label="Restauration", code="REPAS")
    evening = SimpleNamespace(pk=9, label=EVIL, code="S&OIR")
    add = [
        cell(date(2026, 12, 7), meal),
        cell(date(2026, 12, 7), evening, note="complet : liste d'attente"),
        cell(date(2026, 12, 8), meal, problem=EVIL),
        cell(date(2026, 12, 13), evening, child=12),
    ]
    remove = [
        cell(date(2026, 12, 9), meal, booked=True),
        cell(date(2026, 12, 10), evening, booked=True, note="ignored", problem="trop tard"),
    ]
    template = get_template("activities/includes/panier_jours.html")
    with override(language):
        for days in ((add, remove), (add, []), ([], remove), ([], [])):
            expected = template.render({"add": days[0], "remove": days[1], "level": 4})
            painted = Painter(None).basket(*days, level=4)
            assert squeezed(painted) == squeezed(expected)
    html = Painter(None).basket(add, remove, level=4)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_months_name_stays_safe_for_the_templates_that_show_it():
    """The one-child calendar's « Aller au mois » list puts Painter.month in a template."""
    with override("fr"):
        month = Painter(None).month(date(2026, 12, 1))
    assert month == "Décembre 2026" and hasattr(month, "__html__")


def test_the_pattern_forms_choices_taken_as_built_still_refuse_what_is_not_offered():
    """PatternForm gives its choices already normalised (forms_foyer._Normalised): an option
    or a weekday it does not offer is refused as before, one it offers is taken."""
    from parvis.activities.tests.test_form_painter import pattern

    offered = {
        "modele-pour": "u:12:8", "modele-jours": ["1", "3"], "modele-du": "2026-12-01",
        "modele-au": "2026-12-18", "modele-choix": "reserver",
    }  # fmt: skip
    with override("fr"):
        assert pattern(offered).is_valid()
        for name, value in (("modele-pour", "u:99:8"), ("modele-jours", ["6"])):
            form = pattern({**offered, name: value})
            assert not form.is_valid()
            assert list(form.errors) == [name.removeprefix("modele-")]
        form = pattern()
        assert [group for group, _options in form.fields["pour"].choices] == [
            "Léa D'Arc", "Hugo D'Arc",
        ]  # fmt: skip
        assert form.fields["pour"].choices[0][1][0] == (
            "a:11:4", "Léa — Périscolaire & co : toutes les unités",
        )  # fmt: skip


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("vue", ["mois", "trimestre", "annee"])
def test_the_periods_navigation_is_the_periods_template(vue, language):
    shown = period(vue, date(2026, 12, 14), today=date(2026, 12, 6))
    with override(language):
        expected = get_template("activities/includes/foyer_periode.html").render(
            {"period": shown, "vues": VUES}
        )
        painted = Painter(None).period_nav(shown, VUES)
    assert squeezed(painted) == squeezed(expected)
    assert f'value="aller:{vue}:{shown.next.isoformat()}"' in painted


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_tools_summaries_are_the_error_summary_template(language):
    """form_painter.summary: the include's output, for the tools unbound, valid and in error."""
    from parvis.activities.form_painter import summary
    from parvis.activities.tests.test_form_painter import CASES

    template = get_template("forms/error_summary.html")
    with override(language):
        for case in CASES.values():
            form = case()
            assert squeezed(summary(form)) == squeezed(template.render({"form": form})), form


@pytest.mark.parametrize("language", ["fr", "en"])
def test_what_a_tool_did_is_the_result_template(language):
    from collections import Counter

    from parvis.activities.selectors_foyer import ToolResult

    results = [
        ToolResult(changed=1, unchanged=0),
        ToolResult(changed=12, unchanged=1),
        ToolResult(changed=0, unchanged=3, skipped=Counter({EVIL: 2, "jour férié": 1})),
        ToolResult(changed=2, unchanged=2, skipped=Counter({"trop tard": 1})),
    ]
    template = get_template("activities/includes/foyer_resultat.html")
    with override(language):
        for result in results:
            expected = template.render({"tool_result": result, "tool_done": EVIL})
            painted = Painter(None).tool_result(result, EVIL)
            assert squeezed(painted) == squeezed(expected)
    assert "<script>" not in painted


@pytest.mark.django_db
def test_the_confirmation_leaves_the_sessions_summary_as_it_was(client):
    """The page paints copies of the summary's lines: the session's own summary (JSON) gets
    neither a date nor a painted fragment, and the page can be shown again."""
    import copy

    from parvis.activities.tests import test_foyer
    from parvis.activities.views_foyer import SUMMARY_KEY

    family = test_foyer.family.__wrapped__()
    client.force_login(family["user"], backend=test_foyer.BACKEND)
    summary = {
        "user": family["user"].pk,
        "groups": [
            {
                "child": "Léa DURAND", "activity": "Restauration scolaire",
                "added": [{"day": "2026-12-07", "label": "Repas", "code": "REPAS",
                           "pending": False}],
                "waiting": [{"day": "2026-12-08", "label": "Repas", "code": "REPAS",
                             "pending": False, "rank": 2}],
                "removed": [],
            }
        ],
        "vue": "mois",
        "debut": "2026-12-01",
    }  # fmt: skip
    session = client.session
    session[SUMMARY_KEY] = copy.deepcopy(summary)
    session.save()
    for _twice in range(2):
        response = client.get(test_foyer.url("foyer_confirmation", family))
        html = test_foyer.html_of(response)
        assert "<li>lundi 07/12/2026 — Repas (REPAS)</li>" in html
        assert "mardi 08/12/2026 — Repas (REPAS) — rang 2</li>" in html
    assert client.session[SUMMARY_KEY] == summary
