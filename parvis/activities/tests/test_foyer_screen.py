"""The household grid opens as the one-child calendar does: the weeks of the period shown before
the first that can still change are folded (« Semaines passées ou non modifiables (N) »), and the
basket's estimate and « Valider » come before its days."""

import re
from datetime import date

import pytest

from parvis.activities.tests import test_foyer as base
from parvis.activities.tests.test_foyer import MONDAY_23, key, text_of, url

pytestmark = pytest.mark.django_db

# A household of two children, logged in, on Friday 20 November 2026 at 10:00.
clock, family, logged = base.clock, base.family, base.logged


def folded_and_shown(response) -> tuple[list[date], list[date]]:
    html = response.content.decode()
    start, end = html.find("<details"), html.find("</details>")
    folded, shown = [], []
    for match in re.finditer(r'<tr id="semaine-(\d{4}-\d\d-\d\d)"', html):
        inside = start != -1 and start < match.start() < end
        (folded if inside else shown).append(date.fromisoformat(match.group(1)))
    return folded, shown


def test_this_month_opens_on_the_first_week_that_can_still_change(logged, family):
    response = logged.get(url("foyer", family))
    folded, shown = folded_and_shown(response)
    # Tuesday 24 November can still be booked; nothing before it can.
    assert folded == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert shown == [MONDAY_23, date(2026, 11, 30)]
    assert "Semaines passées ou non modifiables (4)" in text_of(response)
    assert 'id="agenda"' in response.content.decode()


def test_a_past_month_is_shown_unfolded(logged, family):
    folded, shown = folded_and_shown(logged.get(url("foyer", family, debut="2026-10-01")))
    assert folded == [] and shown[0] == date(2026, 9, 28)


def test_a_month_to_come_folds_only_what_cannot_change_before_its_first_open_week(logged, family):
    response = logged.get(url("foyer", family, debut="2027-02-01"))
    assert folded_and_shown(response)[0] == []
    assert "<details" not in response.content.decode()
    # January opens with the last days of the Christmas holidays: nothing to book that week.
    folded, shown = folded_and_shown(logged.get(url("foyer", family, debut="2027-01-01")))
    assert folded == [date(2026, 12, 28)] and shown[0] == date(2027, 1, 4)


def test_the_school_year_folds_the_weeks_gone_by(logged, family):
    folded, shown = folded_and_shown(logged.get(url("foyer", family, vue="annee")))
    assert folded[0] == date(2026, 8, 31) and folded[-1] == date(2026, 11, 16)
    assert shown[0] == MONDAY_23


def test_the_basket_says_valider_before_its_days(logged, family):
    lea, matin = family["lea"], family["matin"]
    response = logged.post(
        url("foyer", family),
        {"grille": "1", "vue": "mois", "debut": "2026-11-01", "action": "panier",
         "c": [key(lea, matin, date(2026, 11, 30))]},
    )  # fmt: skip
    html = response.content.decode()
    assert html.index(">Valider</button>") < html.index("lundi 30/11/2026")
