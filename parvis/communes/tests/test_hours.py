"""Opening hours at their edges, with the seed's timetables (Carrières-sous-Poissy)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.communes import hours
from parvis.communes.hours import Closed, Range, opening_status, status_label, week_table

PARIS = ZoneInfo("Europe/Paris")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# « Lundi … Vendredi : 8h30-12h / 13h45-17h30 »
TOWN_HALL = [
    Range(day, opens, closes)
    for day in (MON, TUE, WED, THU, FRI)
    for opens, closes in ((time(8, 30), time(12)), (time(13, 45), time(17, 30)))
]
# « Lundi/Jeudi : 8h30-12h / 13h45-16h00 — Mardi/Vendredi : 8h30-12h —
#   Mercredi : 8h30-12h / 13h45-17h30 »
REGIE = [
    *(Range(d, time(8, 30), time(12)) for d in (MON, TUE, WED, THU, FRI)),
    *(Range(d, time(13, 45), time(16)) for d in (MON, THU)),
    Range(WED, time(13, 45), time(17, 30)),
]

# The week of Monday 23 November 2026 has no public holiday.
MONDAY = date(2026, 11, 23)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=PARIS)


def label(ranges, now, closures=()):
    with translation.override("fr"):
        return status_label(opening_status(ranges, closures, now), now)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(MONDAY, 8, 29), "Fermé — ouvre à 8h30"),
        (at(MONDAY, 8, 30), "Ouvert maintenant — ferme à 12h00"),
        (at(MONDAY, 11, 59), "Ouvert maintenant — ferme à 12h00"),
        (at(MONDAY, 12, 0), "Fermé — ouvre à 13h45"),  # the lunch break
        (at(MONDAY, 13, 44), "Fermé — ouvre à 13h45"),
        (at(MONDAY, 13, 45), "Ouvert maintenant — ferme à 17h30"),
        (at(MONDAY, 17, 29), "Ouvert maintenant — ferme à 17h30"),
        (at(MONDAY, 17, 30), "Fermé — ouvre demain à 8h30"),
        # Friday evening to Monday morning
        (at(MONDAY + timedelta(days=4), 17, 29), "Ouvert maintenant — ferme à 17h30"),
        (at(MONDAY + timedelta(days=4), 17, 30), "Fermé — ouvre lundi à 8h30"),
        (at(MONDAY + timedelta(days=5), 10, 0), "Fermé — ouvre lundi à 8h30"),
        (at(MONDAY + timedelta(days=6), 23, 59), "Fermé — ouvre demain à 8h30"),
        (at(MONDAY + timedelta(days=7), 0, 0), "Fermé — ouvre à 8h30"),
        (at(MONDAY + timedelta(days=7), 8, 30), "Ouvert maintenant — ferme à 12h00"),
    ],
)
def test_town_hall_status_at_the_edges(now, expected):
    assert label(TOWN_HALL, now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday and Thursday afternoons until 16h
        (at(MONDAY, 14, 0), "Ouvert maintenant — ferme à 16h00"),
        (at(MONDAY, 15, 59), "Ouvert maintenant — ferme à 16h00"),
        (at(MONDAY, 16, 0), "Fermé — ouvre demain à 8h30"),
        (at(MONDAY + timedelta(days=3), 15, 59), "Ouvert maintenant — ferme à 16h00"),
        (at(MONDAY + timedelta(days=3), 16, 0), "Fermé — ouvre demain à 8h30"),
        # Tuesday and Friday: mornings only
        (at(MONDAY + timedelta(days=1), 11, 59), "Ouvert maintenant — ferme à 12h00"),
        (at(MONDAY + timedelta(days=1), 12, 0), "Fermé — ouvre demain à 8h30"),
        (at(MONDAY + timedelta(days=1), 14, 0), "Fermé — ouvre demain à 8h30"),
        (at(MONDAY + timedelta(days=4), 12, 0), "Fermé — ouvre lundi à 8h30"),
        # Wednesday afternoon until 17h30
        (at(MONDAY + timedelta(days=2), 17, 29), "Ouvert maintenant — ferme à 17h30"),
        (at(MONDAY + timedelta(days=2), 17, 30), "Fermé — ouvre demain à 8h30"),
    ],
)
def test_regie_afternoons_differ_from_the_town_hall(now, expected):
    assert label(REGIE, now) == expected


def test_a_closure_day_is_closed_all_day_and_says_why():
    closure = Closed(MONDAY, MONDAY, "Inventaire")
    status = opening_status(TOWN_HALL, [closure], at(MONDAY, 10, 0))
    assert not status.is_open
    assert status.closed_reason == "Inventaire"
    assert status.opens_at == at(MONDAY + timedelta(days=1), 8, 30)
    # The evening before, the next opening skips the closed day.
    assert label(TOWN_HALL, at(MONDAY - timedelta(days=1), 20, 0), [closure]) == (
        "Fermé — ouvre mardi à 8h30"
    )
    # The day after, business as usual.
    assert label(TOWN_HALL, at(MONDAY + timedelta(days=1), 10), [closure]).startswith("Ouvert")


def test_a_closure_without_reason_is_called_exceptional():
    status = opening_status(TOWN_HALL, [Closed(MONDAY, MONDAY)], at(MONDAY, 10, 0))
    with translation.override("fr"):
        assert not status.is_open
        assert hours.closure_reason(MONDAY, [Closed(MONDAY, MONDAY)]) == "Fermeture exceptionnelle"


def test_a_public_holiday_is_closed():
    armistice = date(2026, 11, 11)  # a Wednesday
    status = opening_status(TOWN_HALL, [], at(armistice, 10, 0))
    assert not status.is_open
    assert status.closed_reason == "Armistice"
    assert label(TOWN_HALL, at(armistice, 10, 0)) == "Fermé — ouvre demain à 8h30"


def test_the_next_opening_more_than_a_week_away_gives_the_date():
    two_weeks = Closed(MONDAY, MONDAY + timedelta(days=11), "Travaux")
    assert label(TOWN_HALL, at(MONDAY, 10), [two_weeks]) == (
        "Fermé — ouvre le lundi 7 décembre à 8h30"
    )


def test_no_hours_at_all_is_simply_closed():
    status = opening_status([], [], at(MONDAY, 10))
    assert status == hours.OpeningStatus(is_open=False)
    assert label([], at(MONDAY, 10)) == "Fermé"


def test_status_uses_paris_wall_clock_across_daylight_saving():
    # Monday 30 March 2026, the day after the change to summer time: 8h30 in Paris is 6h30 UTC.
    utc = ZoneInfo("UTC")
    assert opening_status(TOWN_HALL, [], datetime(2026, 3, 30, 6, 30, tzinfo=utc)).is_open
    assert not opening_status(TOWN_HALL, [], datetime(2026, 3, 30, 6, 29, tzinfo=utc)).is_open
    # In winter 8h30 in Paris is 7h30 UTC.
    assert not opening_status(TOWN_HALL, [], datetime(2026, 11, 23, 7, 29, tzinfo=utc)).is_open
    assert opening_status(TOWN_HALL, [], datetime(2026, 11, 23, 7, 30, tzinfo=utc)).is_open


def test_back_to_back_ranges_are_one_opening():
    ranges = [Range(MON, time(8), time(12)), Range(MON, time(12), time(14))]
    assert label(ranges, at(MONDAY, 11, 30)) == "Ouvert maintenant — ferme à 14h00"


def test_week_table_reads_like_the_printed_timetable():
    with translation.override("fr"):
        table = week_table(REGIE)
        assert [(row.name, row.label) for row in table] == [
            ("Lundi", "8h30-12h / 13h45-16h"),
            ("Mardi", "8h30-12h"),
            ("Mercredi", "8h30-12h / 13h45-17h30"),
            ("Jeudi", "8h30-12h / 13h45-16h"),
            ("Vendredi", "8h30-12h"),
        ]
        full_week = week_table(REGIE, include_closed_days=True)
        assert [row.label for row in full_week[5:]] == ["Fermé", "Fermé"]


# --- Properties over any timetable and any moment --------------------------------------------

minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def timetables(draw):
    ranges = []
    for day in range(7):
        for _ in range(draw(st.integers(0, 2))):
            a, b = sorted(draw(st.lists(minutes, min_size=2, max_size=2, unique=True)))
            ranges.append(Range(day, time(a // 60, a % 60), time(b // 60, b % 60)))
    return ranges


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(PARIS)
).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=200, deadline=None)
@given(ranges=timetables(), now=moments, closed_days=st.integers(0, 3))
def test_status_is_consistent_with_the_minutes_around_it(ranges, now, closed_days):
    closures = (
        [Closed(now.date() + timedelta(days=1), now.date() + timedelta(days=closed_days))]
        if closed_days
        else []
    )
    status = opening_status(ranges, closures, now)
    minute = timedelta(minutes=1)
    if status.is_open:
        assert status.closes_at > now
        # Open until the minute before it closes, closed at the closing minute.
        assert opening_status(ranges, closures, status.closes_at - minute).is_open
        assert not opening_status(ranges, closures, status.closes_at).is_open
    elif status.opens_at is not None:
        assert status.opens_at > now
        assert opening_status(ranges, closures, status.opens_at).is_open
        assert not opening_status(ranges, closures, status.opens_at - minute).is_open
        assert not any(c.covers(status.opens_at.date()) for c in closures)
    else:
        assert ranges == []
