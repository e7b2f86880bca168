"""Opening days: public holidays, school holidays of zones A, B and C from the maintained
package, the unit's weekdays, the activity's period and agents' closures."""

from datetime import date

import pytest

from parvis.activities.calendar import closed_reason, covers, is_working_day, school_holiday

SCHOOL_YEAR = {"start": date(2026, 9, 1), "end": date(2027, 7, 3)}
MON_TUE_THU_FRI = [0, 1, 3, 4]


def reason(day, zone="C", weekdays=MON_TUE_THU_FRI, during="school", **kwargs):
    closed = closed_reason(
        day, zone=zone, weekdays=weekdays, during=during, **{**SCHOOL_YEAR, **kwargs}
    )
    return closed.code if closed else None


@pytest.mark.parametrize(
    ("day", "open_in"),
    [
        # Winter holidays 2027: zone C from 6 February, A from 13, B from 20 (to 7 March).
        (date(2027, 2, 8), {"A", "B"}),
        (date(2027, 2, 15), {"B"}),
        (date(2027, 2, 22), {"C"}),
        (date(2027, 3, 1), {"A", "C"}),
        (date(2027, 3, 8), {"A", "B", "C"}),
    ],
)
def test_school_holidays_follow_the_zone(day, open_in):
    for zone in ("A", "B", "C"):
        expected = None if zone in open_in else "school_holiday"
        assert reason(day, zone=zone) == expected, (day, zone)


def test_the_holiday_is_named():
    assert school_holiday(date(2026, 10, 19), "C") == "Vacances de la Toussaint"
    assert school_holiday(date(2026, 11, 23), "C") is None


def test_public_holidays_close_every_zone():
    # Wednesday 11 November 2026 is Armistice day; Monday 17 May 2027 is Pentecost Monday.
    closed = closed_reason(
        date(2026, 11, 11), zone="A", weekdays=range(7), during="school", **SCHOOL_YEAR
    )
    assert closed.code == "public_holiday" and closed.reason == "jour férié (Armistice)"
    assert reason(date(2027, 5, 17), weekdays=range(7)) == "public_holiday"
    assert not is_working_day(date(2027, 5, 17))


def test_weekdays_period_and_closures():
    assert reason(date(2026, 11, 25)) == "weekday"  # a Wednesday: no canteen that day
    assert reason(date(2026, 11, 26)) is None
    assert reason(date(2027, 7, 5)) == "period"
    assert reason(date(2026, 8, 31)) == "period"
    strike = {date(2026, 11, 26): "grève"}
    closed = closed_reason(
        date(2026, 11, 26), zone="C", weekdays=MON_TUE_THU_FRI, during="school",
        closures=strike, **SCHOOL_YEAR,
    )  # fmt: skip
    assert closed.code == "closure" and closed.reason == "fermeture : grève"


def test_a_holiday_session_runs_only_during_the_holidays():
    session = {"start": date(2026, 10, 17), "end": date(2026, 11, 1)}
    assert reason(date(2026, 10, 19), during="holidays", weekdays=range(5), **session) is None
    assert (
        reason(date(2026, 10, 16), during="holidays", weekdays=range(5), start=date(2026, 10, 1))
        == "term"
    )


def test_the_package_covers_the_coming_school_years():
    assert covers(date(2027, 7, 3)) and covers(date(2028, 6, 30))
