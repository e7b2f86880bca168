"""The household grid's tool forms drawn in Python (form_painter) are the markup of
{{ field.as_field_group }} (templates/forms/field.html and Django's widgets), whitespace aside:
unbound with their initial dates, bound, in error, with texts to escape."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils.translation import override

from parvis.activities.form_painter import fields
from parvis.activities.forms_foyer import CopyWeekForm, PatternForm
from parvis.activities.selectors_foyer import Household, Line

BOUNDS = (date(2026, 9, 1), date(2027, 7, 3))
DJANGO = engines["django"].from_string(
    "{% for field in form %}{{ field.as_field_group }}{% endfor %}"
)


def squeezed(html: str) -> str:
    html = re.sub(r"\s+", " ", str(html))
    html = re.sub(r"\s*>\s*", ">", html)
    return re.sub(r"\s*<\s*", "<", html).strip()


def household() -> Household:
    activity = type("A", (), {"pk": 4, "__str__": lambda self: "Périscolaire & co"})()
    units = [
        SimpleNamespace(pk=7, label="Acc <Matin>", code="ACC_MATIN", weekdays=[0, 1, 3, 4]),
        SimpleNamespace(pk=8, label="Restauration", code="REPAS", weekdays=[0, 1, 2, 3, 4]),
    ]
    children = [
        SimpleNamespace(pk=11, famille_id=1, first_names="Léa", last_name="D'Arc"),
        SimpleNamespace(pk=12, famille_id=1, first_names="Hugo", last_name="D'Arc"),
    ]
    return Household(lines=[Line(child=c, activity=activity, units=units) for c in children])


def pattern(data=None) -> PatternForm:
    house = household()
    return PatternForm(
        data, prefix="modele", household=house, columns=house.columns, bounds=BOUNDS,
        initial={"du": date(2026, 12, 1), "au": date(2026, 12, 31)},
    )  # fmt: skip


def copy(data=None) -> CopyWeekForm:
    return CopyWeekForm(
        data, prefix="copie", bounds=BOUNDS, initial={"semaine": date(2026, 11, 30)}
    )


CASES = {
    "copy unbound": lambda: copy(),
    "copy in error": lambda: copy({"copie-semaine": "2028-01-01", "copie-semaines": "x"}),
    "copy both given": lambda: copy(
        {"copie-semaine": "2026-12-02", "copie-semaines": "3", "copie-jusqu_au": "2027-01-08"}
    ),
    "pattern unbound": lambda: pattern(),
    "pattern empty": lambda: pattern({"modele-choix": "annuler"}),
    "pattern valid": lambda: pattern(
        {
            "modele-pour": "u:12:8",
            "modele-jours": ["1", "3"],
            "modele-du": "2026-12-01",
            "modele-au": "2026-12-18",
            "modele-choix": "reserver",
        }
    ),
    "pattern wrong order": lambda: pattern(
        {
            "modele-pour": "a:11:4",
            "modele-jours": ["0"],
            "modele-du": "2026-12-18",
            "modele-au": "2026-12-01",
            "modele-choix": "reserver",
        }
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_tools_are_drawn_as_the_field_template_draws_them(case):
    with override("fr"):
        form = CASES[case]()
        if form.is_bound:
            form.is_valid()
        expected = squeezed(DJANGO.render({"form": form}))
        assert squeezed(fields(form)) == expected


def test_the_texts_are_escaped_and_the_errors_said():
    with override("fr"):
        form = pattern({"modele-choix": "annuler"})
        form.is_valid()
        html = str(fields(form))
    assert "Acc &lt;Matin&gt;" in html and "<Matin>" not in html
    assert "Périscolaire &amp; co" in html
    assert 'aria-invalid="true"' in html
    assert 'id="id_modele-pour_error"' in html
    assert '<span class="visually-hidden">Erreur :</span>' in html
    assert 'value="annuler" id="id_modele-choix_1" checked' in html


def test_english_labels_follow_the_language():
    with override("en"):
        form = copy()
        assert squeezed(fields(form)) == squeezed(DJANGO.render({"form": form}))
