"""The calendar by keyboard and with a screen reader, as the server draws it (issue 15 §2; the
browser side is test_journey_calendar_keyboard.py): « Aller à la semaine … » to the first week
that can change; no « Tout cocher » on a week that cannot, which says why once; after « Tout
cocher / Tout décocher » a message (role="status") next to the button used, whose id the form
names for calendrier.js; and nothing of the arrow keys' roving tabindex without JavaScript."""

import re
from datetime import date

import pytest

from parvis.activities.tests import test_views as base
from parvis.activities.tests.test_views import book, key, text_of, url

pytestmark = pytest.mark.django_db

# The pages' fixtures: a family with Léa registered, logged in, on Friday 20 November 2026; the
# unit « Acc Matin » runs on Mondays, Tuesdays, Thursdays and Fridays (zone C).
clock, family, logged = base.clock, base.family, base.logged


def row(response, monday: str) -> str:
    html = response.content.decode()
    return re.search(rf'<tr id="semaine-{monday}">(.*?)</tr>', html, re.S).group(1)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").strip()


def week_message(response) -> list[str]:
    """The « Tout cocher » messages of the page (role="status" next to the button used)."""
    html = response.content.decode()
    return [
        text(found)
        for found in re.findall(r'<p class="resa-done" role="status"[^>]*>(.*?)</p>', html, re.S)
    ]


def test_the_basket_counts_sit_in_a_status_region(logged, family):
    # calendrier.js updates them at each tick: in a status region they are read out (RGAA 7.5).
    html = logged.get(url("calendrier", family)).content.decode()
    region = re.search(r'<p class="resa-bar__basket" role="status">(.*?)</p>', html, re.S)
    assert 'data-resa-count="ajout"' in region.group(1)
    assert 'data-resa-count="retrait"' in region.group(1)


# --- « Aller à la semaine … » -------------------------------------------------------------------


def test_aller_a_la_semaine_leads_to_the_first_week_that_can_change(logged, family):
    html = logged.get(url("calendrier", family)).content.decode()
    link = re.search(r'<a href="#semaine-([\d-]+)">([^<]+)</a>', html)
    # Monday 23 is past its deadline, Tuesday 24 can still be booked.
    assert link.groups() == (
        "2026-11-23",
        "Aller à la semaine du 23/11/2026, la première modifiable",
    )
    # Before « Aller au mois : » and the period's buttons: a few Tabs from the top.
    assert html.index(link.group(0)) < html.index("Aller au mois :") < html.index("cocher_periode")


def test_when_nothing_can_change_no_jump_and_no_button_at_all(logged, family):
    family["inscription"].delete()
    response = logged.get(url("calendrier", family))
    html = response.content.decode()
    assert "Aller à la semaine" not in html
    calendar = html.split('id="periode"')[1].split("</form>")[0]
    # Neither the period's « Tout cocher » nor a week's (only the ways through the period).
    assert 'value="cocher' not in calendar and 'value="decocher' not in calendar
    assert (
        "Aucun jour de la période ne peut être modifié : la raison est écrite à côté de chaque "
        "semaine."
    ) in text_of(response)
    assert "Non modifiable : enfant non inscrit à cette activité" in text(
        row(response, "2026-12-07")
    )


# --- A week that cannot change ------------------------------------------------------------------


def test_a_week_that_cannot_change_has_no_button_and_says_why_once(logged, family):
    unit = family["unit"]
    response = logged.get(url("calendrier", family))
    # The Christmas holidays, Friday 25 a public holiday: each reason once, with its days.
    christmas = row(response, "2026-12-21")
    assert "<button" not in christmas
    said = text(christmas)
    assert said.startswith("Semaine du 21/12/2026 ⊘ Non modifiable :")  # header, then its cell
    assert "lundi, mardi, jeudi — pas d'accueil : Vacances de Noël" in said
    assert "vendredi — pas d'accueil : jour férié (Noël)" in said
    assert said.count("Vacances de Noël") == 1 and said.count("jour férié") == 1
    # Each day's box is described by its reason in the row header (not said again by the day).
    ident = re.search(r'<li id="(pourquoi-2026-12-21-\d)">[^<]*Vacances de Noël', christmas)[1]
    assert f'id="c-{unit.pk}-2026-12-22" disabled aria-describedby="{ident}"' in christmas
    friday = re.search(r'<li id="(pourquoi-2026-12-21-\d)">[^<]*jour férié', christmas)[1]
    assert f'id="c-{unit.pk}-2026-12-25" disabled aria-describedby="{friday}"' in christmas
    assert "resa-reason" not in christmas
    # The winter holidays: one reason, said in one sentence.
    winter = row(logged.get(url("calendrier", family) + "?semaine=2027-02-15"), "2027-02-15")
    assert "<button" not in winter
    assert re.search(r"Non modifiable : pas d'accueil : Vacances d'hiver", text(winter))
    assert 'aria-describedby="pourquoi-2027-02-15-1"' in winter
    assert text(winter).count("Vacances d'hiver") == 1


def test_a_week_with_a_day_that_can_change_keeps_its_buttons_and_its_days_reasons(logged, family):
    response = logged.get(url("calendrier", family))
    first = row(response, "2026-11-23")
    assert 'id="tout-cocher-2026-11-23"' in first and 'id="tout-decocher-2026-11-23"' in first
    assert "Non modifiable" not in first
    # Monday 23's reason stays next to it: the other days of the week can change.
    assert "date limite dépassée (vendredi 20 novembre 2026 à 09:00)" in text(first)
    # Wednesday 2 December, public holiday Friday 1 January: not the whole week, buttons kept.
    assert 'id="tout-cocher-2026-11-30"' in row(response, "2026-11-30")


def row_header(response, monday: str) -> str:
    return re.search(r'<th scope="row">(.*?)</th>', row(response, monday), re.S).group(1)


def test_a_row_header_names_its_week_only(logged, family):
    # A screen reader says the row header with every day of the row: the week's buttons, why it
    # cannot change and what a button did sit in a cell of their own (issue 24 §2).
    response = post(logged, family, "cocher_semaine:2026-11-30")
    html = response.content.decode()
    # The grid's only (the folded weeks' table is the whole period's view, « vue=annee »).
    assert html.count('<th scope="col">Toute la semaine</th>') == 1
    # A month that starts in the week keeps its name there (« Aller au mois » leads to it).
    assert text(row_header(response, "2026-11-30")) == "Décembre 2026 Semaine du 30/11/2026"
    assert text(row_header(response, "2026-12-21")) == "Semaine du 21/12/2026"
    cells = re.search(
        r'<td class="resa-week-actions">(.*?)</td>', row(response, "2026-11-30"), re.S
    )
    assert 'id="tout-cocher-2026-11-30"' in cells[1] and 'role="status"' in cells[1]
    christmas = re.search(
        r'<td class="resa-week-actions">(.*?)</td>', row(response, "2026-12-21"), re.S
    )
    assert "Non modifiable" in christmas[1]


# --- « Tout cocher / Tout décocher »: the message and the focus -------------------------------


def post(logged, family, action, **data):
    return logged.post(url("calendrier", family), {"grille": "1", "action": action, **data})


def test_tout_cocher_a_week_says_how_many_days_next_to_the_button_used(logged, family):
    response = post(logged, family, "cocher_semaine:2026-11-30")
    assert week_message(response) == ["✓ Semaine du 30/11/2026 : 4 jours cochés."]
    assert 'role="status"' in row(response, "2026-11-30")
    html = response.content.decode()
    assert 'data-focus="tout-cocher-2026-11-30"' in html
    assert 'data-resa-done="Semaine du 30/11/2026 : 4 jours cochés."' in html
    assert 'id="resa-annonce"' in html  # the live region calendrier.js writes it in
    # The page opens on the week (the button's formaction), without JavaScript too.
    assert 'formaction="/' in row(response, "2026-11-30")
    assert "#semaine-2026-11-30" in row(response, "2026-11-30")


def test_a_day_that_cannot_change_is_counted_apart(logged, family):
    response = post(logged, family, "cocher_semaine:2026-11-23")
    assert week_message(response) == [
        "✓ Semaine du 23/11/2026 : 3 jours cochés. 1 jour non modifiable laissé tel quel."
    ]


def test_tout_decocher_a_week_says_so_and_focuses_its_own_button(logged, family):
    book(family, date(2026, 12, 3))
    response = post(
        logged, family, "decocher_semaine:2026-11-30", c=[key(family["unit"], date(2026, 12, 3))]
    )
    assert week_message(response) == ["✓ Semaine du 30/11/2026 : 4 jours décochés."]
    assert 'data-focus="tout-decocher-2026-11-30"' in response.content.decode()


def test_one_day_is_said_in_the_singular(logged, family):
    family["activity"].end = date(2026, 11, 24)
    family["activity"].save()
    response = post(logged, family, "cocher_semaine:2026-11-23")
    assert week_message(response) == [
        "✓ Semaine du 23/11/2026 : 1 jour coché. 1 jour non modifiable laissé tel quel."
    ]


def test_tout_cocher_the_period_counts_its_days(logged, family):
    # Two weeks: Monday 23 past its deadline, then seven days that can change.
    family["activity"].start, family["activity"].end = date(2026, 11, 23), date(2026, 12, 4)
    family["activity"].save()
    response = post(logged, family, "cocher_periode")
    assert week_message(response) == [
        "✓ Toute la période : 7 jours cochés. 1 jour non modifiable laissé tel quel."
    ]
    html = response.content.decode()
    assert 'data-focus="tout-cocher-periode"' in html
    period = html.split('id="periode"')[1].split("</fieldset>")[0]
    assert 'role="status"' in period  # next to the period's buttons
    assert 'formaction="' in period and "#periode" in period
    response = post(logged, family, "decocher_periode")
    assert week_message(response) == [
        "✓ Toute la période : 7 jours décochés. 1 jour non modifiable laissé tel quel."
    ]
    assert 'data-focus="tout-decocher-periode"' in response.content.decode()


def test_a_week_that_cannot_change_posted_anyway_says_so(logged, family):
    response = post(logged, family, "cocher_semaine:2026-12-21")
    assert week_message(response) == ["✓ Semaine du 21/12/2026 : aucun jour modifiable."]


def test_a_week_outside_the_period_says_nothing(logged, family):
    response = post(logged, family, "cocher_semaine:2030-01-07")
    assert response.status_code == 200
    assert week_message(response) == []
    assert "data-focus" not in response.content.decode()


def test_no_message_and_no_focus_on_an_ordinary_display(logged, family):
    for response in (logged.get(url("calendrier", family)), post(logged, family, "modifier")):
        assert week_message(response) == []
        assert "data-focus" not in response.content.decode()


# --- Without JavaScript --------------------------------------------------------------------------


def test_every_box_is_a_tab_stop_without_javascript(logged, family):
    html = logged.get(url("calendrier", family)).content.decode()
    assert "tabindex" not in html.split('id="agenda"')[1]  # calendrier.js sets the roving one
    assert 'role="grid"' not in html  # a plain table until the arrow keys work
    # The keyboard help is JavaScript's: hidden until it makes the arrow keys work.
    assert re.search(r'<span class="resa-grid__help" data-resa-help hidden>\s*Au clavier :', html)
