"""The calendars' rows and cells drawn in Python (activities/painter.py): every text escaped,
the states and the locked reasons, the ids that aria-describedby and calendrier.js rely on."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.utils import translation

from parvis.activities.painter import Painter
from parvis.activities.selectors import Cell, Day, Week
from parvis.activities.selectors_foyer import FoyerCell, FoyerDay, Group
from parvis.activities.views import Lock

MONDAY = date(2026, 11, 30)
EVIL = '<script>alert("x")</script> & Co'


@pytest.fixture(autouse=True)
def french():
    with translation.override("fr"):
        yield


def unit(pk=7, label="Accueil du soir", code="SOIR"):
    return SimpleNamespace(pk=pk, label=label, code=code)


def painter():
    return Painter(SimpleNamespace(slug="ville"))


def week(**extra):
    day = Day(day=MONDAY, cells=[Cell(unit=unit(), day=MONDAY)])
    return Week(monday=MONDAY, days=[day, None], **extra)


def test_a_week_row_names_its_week_and_its_months_and_has_its_buttons():
    html = painter().child_week(
        week(), ["<p>lundi</p>", ""], months=[date(2026, 12, 1)], action="/ville/cal/"
    )
    assert html.startswith('<tr id="semaine-2026-11-30"><th scope="row">')
    assert '<span class="resa-month" id="mois-2026-12">Décembre 2026</span>' in html
    assert '<span class="resa-week">Semaine du 30/11/2026</span>' in html
    for verb, label in (("cocher", "Tout cocher"), ("decocher", "Tout décocher")):
        assert (
            f'<button type="submit" name="action" value="{verb}_semaine:2026-11-30" '
            f'id="tout-{verb}-2026-11-30" formaction="/ville/cal/#semaine-2026-11-30" '
            f'class="button button--secondary button--small">{label}'
            '<span class="visually-hidden"> — semaine du 30/11/2026</span></button>'
        ) in html
    assert html.endswith("<td><p>lundi</p></td><td></td></tr>")
    assert "resa-done" not in html and "resa-locked" not in html


def test_a_folded_week_has_no_buttons():
    html = painter().child_week(week(), ["", ""], folded=True, action="/ville/cal/")
    assert "<button" not in html
    assert '<td class="resa-week-actions"></td>' in html


def test_a_week_that_cannot_change_says_why_once_with_the_id_its_days_point_to():
    lock = Lock(reason=EVIL, days=[MONDAY], ident="pourquoi-2026-11-30-1")
    html = painter().child_week(week(), ["", ""], locks=[lock], action="/x/")
    assert "<script>" not in html and "<button" not in html
    assert (
        '<span class="resa-locked" id="pourquoi-2026-11-30-1"><span aria-hidden="true">⊘</span>'
        " Non modifiable : &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</span>"
    ) in html


def test_a_week_locked_for_several_reasons_lists_them_with_their_days():
    locks = [
        Lock(reason="jour férié (Noël)", days=[date(2026, 12, 25)], ident="pourquoi-w-1"),
        Lock(reason=EVIL, days=[MONDAY, date(2026, 12, 1)], ident="pourquoi-w-2"),
    ]
    html = painter().child_week(week(), ["", ""], locks=locks)
    assert '<span aria-hidden="true">⊘</span> Non modifiable :</span>' in html
    assert '<li id="pourquoi-w-1">vendredi — jour férié (Noël)</li>' in html
    assert (
        '<li id="pourquoi-w-2">lundi, mardi — &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
        " &amp; Co</li>"
    ) in html


def test_what_a_button_just_did_is_said_in_its_row_escaped():
    html = painter().child_week(week(), ["", ""], action="/x/", done=f"Semaine : {EVIL}")
    said = "Semaine : &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"
    assert (
        f'<p class="resa-done" role="status" data-resa-done="{said}">'
        f'<span aria-hidden="true">✓</span> {said}</p></td>'
    ) in html


def test_who_a_shared_childs_week_is_billed_to_is_escaped():
    html = painter().child_week(week(billed_to=EVIL), ["", ""])
    assert '<span class="resa-billed">&lt;script&gt;' in html


def test_a_cells_states_and_reasons():
    paint = painter()
    free = Cell(unit=unit(label=EVIL), day=MONDAY)
    html = paint.cell(free, "", "lundi 30/11/2026")
    assert '<input type="checkbox" id="c-7-2026-11-30" name="c" value="7:2026-11-30">' in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html and "data-booked" not in html and "resa-change" not in html

    pending = Cell(unit=unit(), day=MONDAY, status="en_attente", wanted=True)
    html = paint.cell(pending, "", "lundi")
    assert 'class="resa-cell resa-cell--pending" data-booked="1"' in html
    assert " checked>" in html and '<span aria-hidden="true">◷</span>' in html

    removed = Cell(unit=unit(), day=MONDAY, status="reservee", wanted=False)
    html = paint.cell(removed, "", "lundi")
    assert 'class="resa-cell resa-cell--changed" data-booked="1"' in html
    assert "annulation demandée" in html

    locked = Cell(unit=unit(), day=MONDAY, reason=EVIL)
    html = paint.cell(locked, "", "lundi")
    assert 'disabled aria-describedby="r-7-2026-11-30"' in html
    assert re.search(r'<span class="resa-reason" id="r-7-2026-11-30">.*&lt;script&gt;', html)

    # A reason said elsewhere (the week's header, the day's) describes the cell, not repeated.
    html = paint.cell(locked, "", "lundi", {EVIL: "pourquoi-w-1"})
    assert 'disabled aria-describedby="pourquoi-w-1"' in html and "resa-reason" not in html


def test_an_offered_seat_links_to_its_offer():
    offered = Cell(unit=unit(), day=MONDAY, status="proposee", reservation_id=42, wanted=True)
    html = painter().cell(offered, "", "lundi")
    assert '<a href="/ville/mon-espace/' in html and "/42/" in html
    assert "accepter ou refuser" in html


def test_the_household_grid_escapes_the_childs_name_and_says_a_shared_reason_once():
    child = SimpleNamespace(pk=3, first_names=EVIL)
    cells = [
        FoyerCell(
            unit=unit(pk=pk), day=MONDAY, child=child, ident=(3, pk, MONDAY), reason="trop tard"
        )
        for pk in (7, 8)
    ]
    html = painter().day(FoyerDay(day=MONDAY, groups=[Group(child=child, cells=cells)]))
    assert "<script>" not in html
    assert '<p class="foyer-child__name">&lt;script&gt;' in html
    assert html.count("trop tard") == 1
    assert html.count('aria-describedby="r-2026-11-30-0"') == 2
