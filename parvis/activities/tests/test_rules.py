"""Booking deadlines as data, at the minute before and after, across weekends, public holidays
and DST changes (Europe/Paris)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parvis.activities.calendar import is_working_day
from parvis.activities.rules import (
    PARIS,
    RuleError,
    describe,
    is_open_at,
    moment,
    validate_rule,
)

PREVIOUS_WORKING_DAY_9H = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_monday_is_booked_by_the_previous_friday_at_nine():
    deadline = moment(PREVIOUS_WORKING_DAY_9H, date(2026, 11, 30), is_working_day=is_working_day)
    assert deadline == paris(2026, 11, 27, 9, 0)
    assert is_open_at(paris(2026, 11, 27, 8, 59), deadline)
    assert not is_open_at(paris(2026, 11, 27, 9, 0), deadline)
    assert not is_open_at(paris(2026, 11, 27, 9, 1), deadline)


def test_a_public_holiday_is_not_a_working_day():
    # Thursday 12 November 2026: Wednesday the 11th is Armistice day → Tuesday 10th, 09:00.
    deadline = moment(PREVIOUS_WORKING_DAY_9H, date(2026, 11, 12), is_working_day=is_working_day)
    assert deadline == paris(2026, 11, 10, 9, 0)
    # Without counting working days only, it is the holiday itself.
    plain = {"kind": "days_before", "days": 1, "time": "09:00"}
    assert moment(plain, date(2026, 11, 12)) == paris(2026, 11, 11, 9, 0)


def test_j_minus_2_not_counting_weekends():
    rule = {"kind": "days_before", "days": 2, "time": "12:00", "working_days": True}
    # Tuesday → the previous Friday; Monday → the previous Thursday.
    assert moment(rule, date(2026, 12, 8), is_working_day=is_working_day) == paris(
        2026, 12, 4, 12, 0
    )
    assert moment(rule, date(2026, 12, 7), is_working_day=is_working_day) == paris(
        2026, 12, 3, 12, 0
    )


def test_days_before_across_the_spring_dst_change():
    # Monday 30 March 2026; the clocks go forward on Sunday the 29th. J-2 at 09:00 is Saturday
    # the 28th at 09:00 in winter time, 08:00 UTC.
    rule = {"kind": "days_before", "days": 2, "time": "09:00"}
    deadline = moment(rule, date(2026, 3, 30))
    assert deadline.astimezone(UTC) == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert is_open_at(datetime(2026, 3, 28, 7, 59, tzinfo=UTC), deadline)
    assert not is_open_at(datetime(2026, 3, 28, 8, 0, tzinfo=UTC), deadline)
    # And a deadline on the day after the change is in summer time: 07:00 UTC.
    assert moment({"kind": "days_before", "days": 0, "time": "09:00"}, date(2026, 3, 30)) == (
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    )


def test_seventy_two_hours_are_real_hours_across_the_autumn_change():
    # Tuesday 27 October 2026 at 07:30 (winter time); the clocks went back on Sunday the 25th:
    # 72 real hours earlier is Saturday the 24th at 08:30, summer time.
    deadline = moment(
        {"kind": "hours_before", "hours": 72}, date(2026, 10, 27), starts_at=time(7, 30)
    )
    assert deadline == paris(2026, 10, 24, 8, 30)
    assert deadline.utcoffset() == timedelta(hours=2)
    start = paris(2026, 10, 27, 7, 30)
    assert start.astimezone(UTC) - deadline.astimezone(UTC) == timedelta(hours=72)
    assert is_open_at(deadline - timedelta(minutes=1), deadline)
    assert not is_open_at(deadline + timedelta(minutes=1), deadline)


def test_tuesday_2359_for_next_week():
    rule = {"kind": "weekly", "weekday": 1, "time": "23:59"}
    for day in (date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 13)):
        deadline = moment(rule, day)
        assert deadline == paris(2026, 12, 1, 23, 59)
    assert is_open_at(paris(2026, 12, 1, 23, 58), deadline)
    assert not is_open_at(paris(2026, 12, 1, 23, 59), deadline)


def test_day_n_of_the_previous_month():
    rule = {"kind": "monthly", "day": 20, "time": "12:00"}
    assert moment(rule, date(2027, 3, 15)) == paris(2027, 2, 20, 12, 0)
    assert moment(rule, date(2027, 1, 4)) == paris(2026, 12, 20, 12, 0)
    # A day the previous month does not have falls on its last day.
    assert moment({"kind": "monthly", "day": 31, "time": "12:00"}, date(2027, 3, 1)) == paris(
        2027, 2, 28, 12, 0
    )


def test_opening_weeks_before():
    rule = validate_rule({"kind": "weeks_before", "weeks": 6}, opening=True)
    assert moment(rule, date(2027, 2, 17)) == paris(2027, 1, 6, 0, 0)


@pytest.mark.parametrize(
    "rule",
    [
        None,
        "J-1",
        {"kind": "soon"},
        {"kind": "days_before", "days": -1, "time": "09:00"},
        {"kind": "days_before", "days": 1, "time": "9h"},
        {"kind": "days_before", "days": 1, "time": "24:00"},
        {"kind": "days_before", "days": True, "time": "09:00"},
        {"kind": "days_before", "days": 1, "time": "09:00", "working_days": "oui"},
        {"kind": "days_before", "days": 1, "time": "09:00", "extra": 1},
        {"kind": "weekly", "weekday": 7, "time": "23:59"},
        {"kind": "monthly", "day": 0, "time": "12:00"},
        {"kind": "weeks_before", "weeks": 6},  # only an opening rule
    ],
)
def test_malformed_deadline_rules_are_refused(rule):
    with pytest.raises(RuleError):
        validate_rule(rule)


def test_describe_says_the_rule_in_french():
    assert describe(PREVIOUS_WORKING_DAY_9H) == "1 jour ouvré avant, à 09:00"
    assert describe({"kind": "weekly", "weekday": 1, "time": "23:59"}) == (
        "le mardi de la semaine précédente à 23:59"
    )
    assert describe({"kind": "hours_before", "hours": 72}) == "72 heures avant le début"
    assert describe(None) == "dès l'inscription"


@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    days=st.integers(min_value=1, max_value=10),
)
def test_working_days_deadlines_skip_exactly_the_non_working_days(day, days):
    rule = {"kind": "days_before", "days": days, "time": "09:00", "working_days": True}
    deadline = moment(rule, day, is_working_day=is_working_day).date()
    assert deadline < day and is_working_day(deadline)
    between = [
        deadline + timedelta(days=n) for n in range(1, (day - deadline).days)
    ]  # strictly between the deadline and the day
    assert sum(is_working_day(d) for d in between) == days - 1


@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    hours=st.integers(min_value=0, max_value=24 * 14),
    start=st.times(),
)
def test_hours_before_is_always_that_many_real_hours(day, hours, start):
    start = start.replace(second=0, microsecond=0, tzinfo=None)
    deadline = moment({"kind": "hours_before", "hours": hours}, day, starts_at=start)
    begins = datetime.combine(day, start, tzinfo=PARIS)
    assert begins.astimezone(UTC) - deadline.astimezone(UTC) == timedelta(hours=hours)
