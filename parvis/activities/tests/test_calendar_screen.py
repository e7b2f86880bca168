"""The calendar screen of seed 000 (« ENFANCE RÉSERVATION »): the activity, « Durée approximative
de cette démarche : 5 mn », the step bar « 1 - MA DEMANDE », « ANNULER LA DÉMARCHE » and « ALLER
À L'ÉTAPE 2 »; the calendar opens on the first week that can still change (the weeks before it
folded), « Aller au mois : » jumps to a month, and the basket so far stays in the form's bar."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import BookingStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.tests import test_views as base
from parvis.activities.tests.test_views import TUESDAY_24, book, key, text_of, url

pytestmark = pytest.mark.django_db

# The pages' fixtures: a family with Léa registered, logged in, on Friday 20 November 2026.
clock, family, logged = base.clock, base.family, base.logged


def year(family) -> str:
    """The whole period on one page (« Afficher toute la période sur une page »): the weeks
    before the first that can change folded."""
    return url("calendrier", family) + "?vue=annee"


def folded_and_shown(response) -> tuple[list[date], list[date]]:
    """The Mondays of the folded weeks and of the weeks shown, read in the page's HTML."""
    html = response.content.decode()
    start, end = html.find("<details"), html.find("</details>")
    folded, shown = [], []
    for match in re.finditer(r'<tr id="semaine-(\d{4}-\d\d-\d\d)"', html):
        inside = start != -1 and start < match.start() < end
        (folded if inside else shown).append(date.fromisoformat(match.group(1)))
    return folded, shown


def test_the_calendar_screen_says_the_seeds_words(logged, family):
    response = logged.get(url("calendrier", family))
    text = text_of(response)
    html = response.content.decode()
    assert "Accueil Périscolaire Maternelle" in text
    assert "Durée approximative de cette démarche : 5 mn" in text
    # Written as the démarches' wizard writes them; the capitals of the seed are CSS's
    # (text-transform, checked in the browser journey).
    assert re.search(r'aria-current="step">\s*1 - Ma demande', html)
    assert "2 - Panier" in text
    assert re.search(
        r'value="suivant">\s*Aller à l\'étape 2\s*</button>', html.replace("&#x27;", "'")
    )
    assert re.search(r'value="annuler"\s+formnovalidate>Annuler la démarche</button>', html)
    # « Aller à l'étape 2 » is the form's first button: Enter on a box never ticks a whole period.
    first = re.search(r'<button type="submit"[^>]*value="([^"]+)"', html)
    assert first.group(1) == "suivant"


def test_the_duration_is_the_activitys(logged, family):
    family["activity"].duration_minutes = 8
    family["activity"].save()
    assert "Durée approximative de cette démarche : 8 mn" in text_of(
        logged.get(url("calendrier", family))
    )


def test_aller_a_l_etape_2_opens_the_basket_at_step_2_valider_before_the_days(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, date(2026, 12, 3))], "action": "suivant"},
    )
    html = response.content.decode()
    assert re.search(r'aria-current="step">\s*2 - Panier', html)
    assert "Panier : jours ajoutés 1 , jours annulés 0" in text_of(response)
    assert html.index(">Valider</button>") < html.index("Jours ajoutés")
    assert not Reservation.objects.exists()


def test_annuler_la_demarche_goes_back_to_the_choice_and_saves_nothing(logged, family):
    unit = family["unit"]
    book(family, TUESDAY_24)
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, date(2026, 12, 3))], "action": "annuler"},
    )
    assert response.status_code == 302
    assert response["Location"] == url("choisir", family)
    assert list(Reservation.objects.values_list("day", flat=True)) == [TUESDAY_24]


def test_the_bar_counts_the_days_added_and_cancelled_in_the_form(logged, family):
    unit = family["unit"]
    book(family, TUESDAY_24)
    book(family, date(2026, 11, 26))
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "action": "cocher_semaine:2026-12-07",
         "c": [key(unit, date(2026, 11, 26))]},
    )  # fmt: skip
    # Four days of the week of 7 December added, Tuesday 24 November cancelled.
    assert "Panier : jours ajoutés 4 , jours annulés 1" in text_of(response)
    assert "Panier : jours ajoutés 0 , jours annulés 0" in text_of(
        logged.get(url("calendrier", family))
    )


# --- Where the calendar opens -------------------------------------------------------------------

# The week of Monday 30 November 2026: its last open day, Friday 4 December, can be booked until
# Thursday 3 December at 09:00 (« la veille avant 9 h, jours ouvrés »).
WEEK_30 = date(2026, 11, 30)
WEEK_7 = date(2026, 12, 7)


def test_a_minute_before_the_weeks_last_deadline_the_calendar_opens_on_it(logged, family):
    with time_machine.travel(datetime(2026, 12, 3, 8, 59, tzinfo=PARIS), tick=False):
        response = logged.get(year(family))
    folded, shown = folded_and_shown(response)
    assert shown[0] == WEEK_30
    assert folded[0] == date(2026, 8, 31) and folded[-1] == date(2026, 11, 23)
    assert len(folded) == 13
    assert "Semaines passées ou non modifiables (13)" in text_of(response)
    assert response.context["rows"][0].week.monday == WEEK_30
    # Every week is drawn once, folded or not.
    assert len(folded) + len(shown) == len(response.context["cal"].weeks)


def test_a_minute_after_it_the_week_is_folded_and_the_next_one_opens(logged, family):
    with time_machine.travel(datetime(2026, 12, 3, 9, 1, tzinfo=PARIS), tick=False):
        response = logged.get(year(family))
    folded, shown = folded_and_shown(response)
    assert folded[-1] == WEEK_30
    assert shown[0] == WEEK_7
    assert "Semaines passées ou non modifiables (14)" in text_of(response)


def test_a_booking_still_cancellable_opens_its_week(logged, family):
    # Nothing bookable in the week of 30 November any more but Friday 4's booking, cancellable
    # until Thursday 09:00 with a cancellation deadline of its own.
    activity = family["activity"]
    activity.booking_deadline = {"kind": "days_before", "days": 7, "time": "09:00"}
    activity.save()
    book(family, date(2026, 12, 4))
    with time_machine.travel(datetime(2026, 12, 3, 8, 59, tzinfo=PARIS), tick=False):
        response = logged.get(url("calendrier", family))
    assert folded_and_shown(response)[1][0] == WEEK_30


def test_when_nothing_can_change_the_calendar_opens_on_this_week(logged, family):
    family["inscription"].delete()  # not registered: every day is locked
    folded, shown = folded_and_shown(logged.get(year(family)))
    assert shown[0] == date(2026, 11, 16)  # Friday 20 November's week
    assert len(folded) == 11


def test_after_the_period_nothing_is_folded(logged, family):
    with time_machine.travel(datetime(2027, 8, 2, 10, 0, tzinfo=PARIS), tick=False):
        logged.force_login(family["user"], backend=base.BACKEND)  # the session has expired
        response = logged.get(url("calendrier", family))
    folded, shown = folded_and_shown(response)
    assert folded == [] and shown[0] == date(2026, 8, 31)
    assert "<details" not in response.content.decode()


def test_a_folded_week_is_drawn_without_its_tout_cocher(logged, family):
    html = logged.get(url("calendrier", family)).content.decode()
    assert 'value="cocher_semaine:2026-11-16"' not in html  # folded
    assert 'value="cocher_semaine:2026-11-23"' in html  # Tuesday 24 is open


def test_a_booking_in_a_folded_week_is_still_said(logged, family):
    book(family, date(2026, 11, 19), status=BookingStatus.RESERVEE)
    html = logged.get(year(family)).content.decode()
    details = html[html.find("<details") : html.find("</details>")]
    assert f'id="c-{family["unit"].pk}-2026-11-19" disabled' in details
    assert "Réservée" in re.sub(r"<[^>]+>", " ", details)


# --- « Aller au mois : » ------------------------------------------------------------------------


def test_aller_au_mois_links_each_month_from_the_opening_week_to_where_it_starts(logged, family):
    response = logged.get(year(family))
    html = response.content.decode()
    text = text_of(response)
    assert "Aller au mois :" in text
    links = re.findall(r'<a href="#mois-(\d{4}-\d\d)">([^<]+)</a>', html)
    assert links[0] == ("2026-11", "Novembre 2026")  # the opening week's month
    assert links[1] == ("2026-12", "Décembre 2026")
    assert links[-1] == ("2027-07", "Juillet 2027")  # Thursday 1 to Saturday 3 July
    assert len(links) == 9
    assert ("2026-10", "Octobre 2026") not in links  # folded
    # Each anchor sits on the week where its month starts.
    for month, monday in (("2026-12", "2026-11-30"), ("2027-01", "2026-12-28"),
                          ("2027-07", "2027-06-28")):  # fmt: skip
        row = re.search(rf'<tr id="semaine-{monday}">(.*?)</tr>', html, re.S).group(1)
        assert f'id="mois-{month}"' in row
    assert html.count('id="mois-') == len(links)


def test_a_weeks_tout_cocher_brings_the_page_back_on_that_week(logged, family):
    html = logged.get(url("calendrier", family)).content.decode()
    assert f'action="{url("calendrier", family)}#agenda"' in html
    assert f'formaction="{url("calendrier", family)}#semaine-2026-12-07"' in html


def test_folding_and_the_months_cost_no_query(logged, family, django_assert_max_num_queries):
    with time_machine.travel(datetime(2026, 8, 20, 10, 0, tzinfo=PARIS), tick=False):
        logged.force_login(family["user"], backend=base.BACKEND)
        before = base.calendar_queries(logged, family)  # nothing folded yet
    logged.force_login(family["user"], backend=base.BACKEND)
    with django_assert_max_num_queries(before):
        response = logged.get(year(family))  # twelve weeks folded
    assert len(folded_and_shown(response)[0]) == 12


# --- A few weeks at a time (issue 18 §4: a small page first, the year one button away) ---------

FIRST_WINDOW = "2026-11-23:2027-01-03"  # six weeks from the first that can change


def test_the_calendar_shows_six_weeks_from_the_first_that_can_change(logged, family):
    response = logged.get(url("calendrier", family))
    html = response.content.decode()
    folded, shown = folded_and_shown(response)
    assert folded == [] and "<details" not in html
    assert shown == [date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7),
                     date(2026, 12, 14), date(2026, 12, 21), date(2026, 12, 28)]  # fmt: skip
    assert f'name="fenetre" value="{FIRST_WINDOW}"' in html
    # The ways on: buttons (what is ticked is kept), the whole period one button away.
    assert re.search(r'value="aller:2027-01-04"[^>]*>\s*<span aria-hidden="true">↓</span> '
                     r"Semaines suivantes", html)  # fmt: skip
    assert re.search(r'value="aller:2026-10-12"[^>]*>\s*<span aria-hidden="true">↑</span> '
                     r"Semaines précédentes", html)  # fmt: skip
    assert re.search(r'value="annee"[^>]*>Afficher toute la période sur une page<', html)


def test_aller_au_mois_are_buttons_to_the_week_where_each_month_starts(logged, family):
    html = logged.get(url("calendrier", family)).content.decode()
    months = re.findall(r'value="aller:(\d{4}-\d\d-\d\d)"[^>]*class="resa-link">([^<]+)<', html)
    assert months[0] == ("2026-11-23", "Novembre 2026")
    assert ("2026-12-28", "Janvier 2027") in months
    assert months[-1] == ("2027-06-28", "Juillet 2027")
    assert len(months) == 9
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": FIRST_WINDOW, "action": "aller:2027-03-01"},
    )
    assert folded_and_shown(response)[1][0] == date(2027, 3, 1)


def test_a_tick_rides_along_to_the_next_weeks_and_reaches_the_basket(logged, family):
    unit = family["unit"]
    december_3, january_5 = date(2026, 12, 3), date(2027, 1, 5)
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": FIRST_WINDOW, "c": [key(unit, december_3)],
         "action": "aller:2027-01-04"},
    )  # fmt: skip
    html = response.content.decode()
    assert folded_and_shown(response)[1][0] == date(2027, 1, 4)
    assert f'<input type="hidden" name="ajout" value="{key(unit, december_3)}">' in html
    assert "Panier : jours ajoutés 1 , jours annulés 0" in text_of(response)
    window = re.search(r'name="fenetre" value="([^"]+)"', html)[1]
    assert window == "2027-01-04:2027-02-14"
    basket = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": window, "ajout": [key(unit, december_3)],
         "c": [key(unit, january_5)], "action": "suivant"},
    )  # fmt: skip
    added = [cell.day for cell in basket.context["add"]]
    assert added == [december_3, january_5]
    assert not Reservation.objects.exists()  # nothing saved before « Valider »


def test_a_booking_on_a_week_not_shown_is_not_cancelled(logged, family):
    book(family, date(2027, 1, 5))
    response = logged.post(
        url("calendrier", family), {"grille": "1", "fenetre": FIRST_WINDOW, "action": "suivant"}
    )
    assert "Aucune modification" in text_of(response)  # not a cancellation of 5 January
    # Without the window (the whole period's form) the same empty post cancels it.
    response = logged.post(url("calendrier", family), {"grille": "1", "action": "suivant"})
    assert [cell.day for cell in response.context["remove"]] == [date(2027, 1, 5)]


def test_only_the_boxes_of_the_days_shown_count(logged, family):
    unit = family["unit"]
    friday_4, monday_7 = date(2026, 12, 4), date(2026, 12, 7)
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": "2026-11-30:2026-12-06", "action": "suivant",
         "c": [key(unit, friday_4), key(unit, monday_7)]},
    )  # fmt: skip
    # The window's last open day counts; the first day after it is not the form's to add.
    assert [cell.day for cell in response.context["add"]] == [friday_4]


def test_tout_cocher_of_the_period_reaches_the_weeks_not_shown(logged, family):
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": FIRST_WINDOW, "action": "cocher_periode"},
    )
    html = response.content.decode()
    assert folded_and_shown(response)[1][0] == date(2026, 11, 23)  # the same weeks
    carried = re.findall(r'<input type="hidden" name="ajout" value="\d+:(\S+)">', html)
    assert carried[0] == "2027-01-04" and carried[-1] == "2027-07-02"
    added = response.context["counts"]["added"]
    assert added == len(carried) + html.count(" checked>")


def test_the_whole_period_is_one_button_away_and_keeps_the_ticks(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "fenetre": FIRST_WINDOW, "c": [key(unit, date(2026, 12, 3))],
         "action": "annee"},
    )  # fmt: skip
    html = response.content.decode()
    folded, shown = folded_and_shown(response)
    assert len(folded) + len(shown) == len(response.context["cal"].weeks)
    assert '<input type="hidden" name="vue" value="annee">' in html
    assert 'name="fenetre"' not in html and 'name="ajout"' not in html
    assert f'value="{key(unit, date(2026, 12, 3))}" checked' in html
    assert re.search(r'value="aller:2026-11-23"[^>]*>Afficher quelques semaines à la fois<', html)
    # A week's « Tout cocher » in the whole period's view stays in it.
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "vue": "annee", "action": "cocher_semaine:2027-03-01"},
    )
    assert len(folded_and_shown(response)[0]) == 12


def test_the_default_view_is_small_and_reads_what_the_year_view_reads(
    logged, family, django_assert_max_num_queries
):
    year_view = base.calendar_queries(logged, family)
    with CaptureQueriesContext(connection) as queries:
        response = logged.get(year(family))
    with django_assert_max_num_queries(len(queries)):
        default = logged.get(url("calendrier", family))
    assert len(default.content) * 3 < len(response.content)
    assert len(default.content) <= 60_000
    assert year_view == len(queries)


@pytest.mark.parametrize("value", ["2027-13-01", "x", "2027-01-04:2026-01-01", "\x00", "9" * 40])
def test_a_bad_week_or_window_shows_the_opening_weeks(logged, family, value):
    response = logged.get(url("calendrier", family), {"semaine": value})
    assert folded_and_shown(response)[1][0] == date(2026, 11, 23)
    response = logged.post(
        url("calendrier", family), {"grille": "1", "fenetre": value, "action": f"aller:{value}"}
    )
    assert response.status_code == 200


def _state(week):
    return [(c.key, c.status, c.reason, c.wanted, c.note) for c in week.cells()]


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 8, 20, 10, 0),  # before the period
        datetime(2026, 11, 20, 8, 0),
        datetime(2026, 12, 3, 8, 59),  # the last minute of the week of 30 November
        datetime(2026, 12, 3, 9, 1),  # a minute after
        datetime(2026, 12, 19, 12, 0),  # Christmas holidays ahead
        datetime(2027, 6, 30, 10, 0),  # the last week
        datetime(2027, 8, 2, 10, 0),  # after the period
    ],
)
@pytest.mark.parametrize("registered", [True, False])
@pytest.mark.parametrize("start", [None, date(2026, 10, 7), date(2027, 3, 3)])
def test_a_windows_weeks_are_the_whole_calendars(family, when, registered, start):
    """The page of a few weeks works out only those (and from today's week to the opening):
    the same opening, and the same cells on the weeks it shows, as the whole period's."""
    from parvis.activities import selectors
    from parvis.activities.views import WINDOW_WEEKS

    book(family, date(2026, 12, 4))
    book(family, date(2027, 3, 2), status=BookingStatus.EN_ATTENTE)
    if not registered:
        family["inscription"].delete()
    now = when.replace(tzinfo=PARIS)
    with time_machine.travel(now, tick=False):
        target = selectors.booking_target(
            user=family["user"], commune=family["commune"],
            activity_slug=family["activity"].slug, child_pk=family["child"].pk,
        )  # fmt: skip
        whole = selectors.calendar(target=target, now=now)
        shown = selectors.calendar(target=target, now=now, window=(start, WINDOW_WEEKS))
        today = now.date()
        assert shown.opening_week(today=today) == whole.opening_week(today=today)
        mondays = [week.monday for week in whole.weeks]
        first, last = selectors.window_bounds(
            mondays, opening=whole.opening_week(today=today), start=start, size=WINDOW_WEEKS
        )
        assert [w.monday for w in shown.weeks] == mondays
        for index in range(first, last):
            assert _state(shown.weeks[index]) == _state(whole.weeks[index]), mondays[index]
