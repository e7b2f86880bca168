"""selectors.DayRules: the rules' answers shared by the calendars of the same minute (issue 18
§4), never stale: a deadline passed, a rule edited, a closure added, another language or a unit
starting within a minute each get their own answer."""

from datetime import date, datetime, time

import pytest
from django.utils import translation

from parvis.activities import selectors
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db

THURSDAY = date(2026, 12, 3)  # booked until Wednesday 2 December at 09:00
LATE = "date limite dépassée"


@pytest.fixture
def activity():
    selectors._SHARED.clear()
    return make_activity(CommuneFactory())


def rules(activity, when: datetime, closures=None):
    return selectors.DayRules(activity, now=when, closures=closures or {}, full=set())


def bookable(activity, when, closures=None, unit=None):
    unit = unit or activity.units.get()
    return rules(activity, when, closures).bookable(
        unit, THURSDAY, registered=True, file_complete=True
    )


def at(hour, minute, second=0):
    return datetime(2026, 12, 2, hour, minute, second, tzinfo=PARIS)


def test_the_calendars_of_a_minute_share_the_answers(activity, monkeypatch):
    calls = []
    real = selectors.why_not_bookable
    monkeypatch.setattr(
        selectors, "why_not_bookable", lambda **kw: calls.append(kw["now"]) or real(**kw)
    )
    assert bookable(activity, at(8, 58, 1)) is None
    assert bookable(activity, at(8, 58, 59)) is None  # another request, the same minute
    assert len(calls) == 1
    assert bookable(activity, at(8, 59, 0)) is None  # the next minute: asked again
    assert len(calls) == 2


def test_a_deadline_passed_between_two_minutes_is_said(activity):
    assert bookable(activity, at(8, 59, 59)) is None
    assert LATE in bookable(activity, at(9, 0, 0))
    cancel = rules(activity, at(9, 0, 30)).cancellable(activity.units.get(), THURSDAY)
    assert "date limite d'annulation dépassée" in cancel


def test_a_rule_edited_or_a_closure_added_within_the_minute_is_said(activity):
    assert bookable(activity, at(8, 30)) is None
    activity.booking_deadline = {"kind": "days_before", "days": 2, "time": "09:00"}
    assert LATE in bookable(activity, at(8, 30, 10))
    assert "fermeture : grève" in bookable(activity, at(8, 30, 20), {THURSDAY: "grève"})


def test_each_language_gets_its_own_words(activity):
    when = at(9, 30)
    with translation.override("fr"):
        french = bookable(activity, when)
    with translation.override("en"):
        english = bookable(activity, when)
    assert LATE in french
    assert english != french


def test_a_unit_starting_within_a_minute_is_not_shared(activity):
    unit = activity.units.get()
    unit.starts_at = time(7, 30, 30)
    activity.booking_deadline = activity.cancel_deadline = {"kind": "hours_before", "hours": 1}
    # Its deadline is 06:30:30 on Thursday: within that minute, before and after differ.
    day = datetime(2026, 12, 3, 6, 30, 10, tzinfo=PARIS)
    shared = selectors._SHARED.copy()
    ask = rules(activity, day).bookable
    assert ask(unit, THURSDAY, registered=True, file_complete=True) is None
    later = rules(activity, day.replace(second=40)).bookable
    assert LATE in later(unit, THURSDAY, registered=True, file_complete=True)
    assert all(not any(answers) for key, answers in selectors._SHARED.items() if key not in shared)


def test_a_new_minute_drops_the_past_minutes_answers(activity):
    for minute in range(5):
        rules(activity, datetime(2026, 12, 2, 10, minute, tzinfo=PARIS))
    assert [key[-2].minute for key in selectors._SHARED] == [4]


def test_the_shared_answers_are_bounded_and_keep_the_minutes_newest(activity, monkeypatch):
    """More activities in one minute than SHARED_KEYS (a thousand communes): the oldest keys go,
    the others of the minute stay (the cache is not emptied at every new activity)."""
    monkeypatch.setattr(selectors, "SHARED_KEYS", 3)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)
    for zone in "ABCDE":  # five keys of one minute (the zone is part of a key)
        activity.commune.holiday_zone = zone
        rules(activity, now)
    assert [key[4] for key in selectors._SHARED] == ["C", "D", "E"]
