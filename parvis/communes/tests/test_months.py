"""communes.dates' months: the one home of month arithmetic (invoicing runs, the régie's periods,
the household grid, the basket's price preview)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parvis.communes.dates import first_of_month, month_bounds

DAYS = st.dates(min_value=date(1901, 1, 1), max_value=date(9000, 12, 31))


@pytest.mark.parametrize(
    ("day", "bounds"),
    [
        (date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
        (date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 31))),
        (date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),  # leap year
        (date(2027, 2, 10), (date(2027, 2, 1), date(2027, 2, 28))),
        (date(2100, 2, 1), (date(2100, 2, 1), date(2100, 2, 28))),  # no 29th in 2100
        (date(2000, 2, 15), (date(2000, 2, 1), date(2000, 2, 29))),
        (date(2026, 4, 30), (date(2026, 4, 1), date(2026, 4, 30))),
    ],
)
def test_month_bounds(day, bounds):
    assert month_bounds(day) == bounds


@pytest.mark.parametrize(
    ("day", "months", "first"),
    [
        (date(2026, 12, 15), 1, date(2027, 1, 1)),  # over the new year
        (date(2027, 1, 31), -1, date(2026, 12, 1)),  # and back
        (date(2028, 2, 29), 12, date(2029, 2, 1)),
        (date(2028, 2, 29), -12, date(2027, 2, 1)),
        (date(2026, 9, 1), 11, date(2027, 8, 1)),  # a school year's last month
        (date(2026, 3, 31), -25, date(2024, 2, 1)),
        (date(2026, 3, 31), 0, date(2026, 3, 1)),
    ],
)
def test_first_of_month(day, months, first):
    assert first_of_month(day, months) == first


@given(DAYS)
def test_a_month_runs_from_its_first_to_the_day_before_the_next_first(day):
    first, last = month_bounds(day)
    assert first.day == 1 and (first.year, first.month) == (day.year, day.month)
    assert first <= day <= last
    assert (last + timedelta(days=1)).day == 1
    assert last + timedelta(days=1) == first_of_month(day, 1)
    assert 28 <= (last - first).days + 1 <= 31


@given(DAYS, st.integers(min_value=-120, max_value=120))
def test_moving_by_months_adds_up(day, months):
    moved = first_of_month(day, months)
    assert moved.day == 1
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert first_of_month(moved, -months) == first_of_month(day)
