"""communes.dates.monday_of: the one home of « the week of a day » (the calendars, the household
grid, the agents' registers and occupancy, the reminders, shared custody's alternating weeks)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parvis.communes.dates import monday_of


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 12, 7), date(2026, 12, 7)),  # a Monday is its own week's
        (date(2026, 12, 13), date(2026, 12, 7)),  # the Sunday after it: the same week
        (date(2026, 12, 14), date(2026, 12, 14)),  # the next Monday: the next week
        (date(2027, 1, 1), date(2026, 12, 28)),  # a Friday: the week began last year
        (date(2028, 3, 1), date(2028, 2, 28)),  # over a leap day
    ],
)
def test_the_monday_of_a_day(day, monday):
    assert monday_of(day) == monday


@given(st.dates(min_value=date(1901, 1, 7), max_value=date(9000, 12, 31)))
def test_a_monday_at_most_six_days_before(day):
    monday = monday_of(day)
    assert monday.weekday() == 0
    assert timedelta(0) <= day - monday <= timedelta(days=6)
    assert monday_of(monday + timedelta(days=6)) == monday  # the whole week shares it
