"""The household grid by keyboard and with a screen reader, as the one-child calendar (issue 15
§2, test_calendar_keyboard.py): « Aller à la semaine … » past the tools to the first week that
can change; after « Copier la semaine » or « Appliquer le modèle » the result (role="status")
next to the button used, the page back on that tool (its URL fragment) and the form naming the
button for calendrier.js to give the focus back to; the grid a plain table without JavaScript."""

import re
from datetime import date

import pytest

from parvis.activities.tests import test_foyer as base
from parvis.activities.tests.test_foyer import grid_post, html_of, key, url

pytestmark = pytest.mark.django_db

# A household of two children, logged in, on Friday 20 November 2026 at 10:00.
clock, family, logged = base.clock, base.family, base.logged


def fieldset(html: str, ident: str) -> str:
    """The tool `ident` (« copier », « modele »): from its fieldset to the next tool's."""
    return html.split(f'id="{ident}"')[1].split('<fieldset class="form__group" id=')[0]


def test_aller_a_la_semaine_comes_before_the_tools(logged, family):
    html = html_of(logged.get(url("foyer", family)))
    link = re.search(r'<a href="#semaine-([\d-]+)">([^<]+)</a>', html)
    assert link.groups() == (
        "2026-11-23",
        "Aller à la semaine du 23/11/2026, la première modifiable",
    )
    assert html.index(link.group(0)) < html.index('id="copier"')
    assert 'id="semaine-2026-11-23"' in html


def test_no_jump_when_no_week_of_the_period_can_change(logged, family):
    html = html_of(logged.get(url("foyer", family, debut="2026-10-01")))  # October: all past
    assert "Aller à la semaine" not in html


def test_a_tool_says_what_it_did_next_to_its_button_and_names_it_for_the_focus(logged, family):
    lea, matin = family["lea"], family["matin"]
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=[key(lea, matin, date(2026, 12, 7))], action="copier",
                  **{"copie-semaine": "2026-12-07", "copie-jusqu_au": "2026-12-18"}),
    )  # fmt: skip
    html = html_of(response)
    copy = fieldset(html, "copier")
    assert 'id="outil-copier"' in copy
    assert re.search(r'role="status" data-resa-done>\s*<p>\s*Semaine du 07/12/2026 copiée', copy)
    assert 'role="status" data-resa-done' not in fieldset(html, "modele")
    assert 'data-focus="outil-copier"' in html
    assert 'id="resa-annonce"' in html
    # Without JavaScript, the page comes back on the tool used (its button's formaction).
    assert re.search(r'id="outil-copier" formaction="[^"]+#copier"', copy)
    assert re.search(r'id="outil-modele" formaction="[^"]+#modele"', fieldset(html, "modele"))


def test_a_tool_refused_names_no_button_for_the_focus(logged, family):
    # The error summary takes the focus then (forms/error_summary.html's script).
    response = logged.post(url("foyer", family), grid_post(family, action="copier"))
    html = html_of(response)
    assert "data-focus" not in html
    assert "data-resa-done" not in html


def test_the_grid_is_a_plain_table_without_javascript(logged, family):
    html = html_of(logged.get(url("foyer", family)))
    agenda = html.split('id="agenda"')[1]
    assert "tabindex" not in agenda and 'role="grid"' not in agenda
    assert "data-resa-grid" in agenda
    assert re.search(r"data-resa-help hidden>\s*Au clavier :", agenda)
