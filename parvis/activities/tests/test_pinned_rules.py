"""activities.rules pinned rule by rule (issue 24 §3, found by mutation testing): the monthly
deadline of a day in February and in a leap year, well-formed rules accepted as they are and
every bound (the value itself accepted, one past refused, with the French message the agent
reads), each kind's deadline at its edges, a wall time that DST skips, and `describe`'s
wording for each kind, singular and plural."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parvis.activities.rules import (
    PARIS,
    RuleError,
    describe,
    format_moment,
    is_open_at,
    moment,
    validate_rule,
)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --- monthly -------------------------------------------------------------------------------------


def test_a_february_day_is_booked_by_day_n_of_january():
    rule = {"kind": "monthly", "day": 20, "time": "12:00"}
    deadline = moment(rule, date(2027, 2, 10))
    assert deadline == paris(2027, 1, 20, 12, 0)
    assert is_open_at(paris(2027, 1, 20, 11, 59), deadline)
    assert not is_open_at(paris(2027, 1, 20, 12, 0), deadline)


def test_a_december_day_is_booked_in_november_of_the_same_year():
    assert moment({"kind": "monthly", "day": 1, "time": "00:00"}, date(2026, 12, 31)) == paris(
        2026, 11, 1, 0, 0
    )


@pytest.mark.parametrize(
    "day, booked, deadline",
    [
        (29, date(2028, 3, 6), date(2028, 2, 29)),  # leap year: February has its 29th
        (30, date(2028, 3, 6), date(2028, 2, 29)),
        (29, date(2027, 3, 6), date(2027, 2, 28)),
        (28, date(2027, 3, 6), date(2027, 2, 28)),
        (31, date(2026, 5, 4), date(2026, 4, 30)),
        (31, date(2026, 8, 3), date(2026, 7, 31)),
    ],
)
def test_day_n_past_the_end_of_the_previous_month_is_its_last_day(day, booked, deadline):
    rule = {"kind": "monthly", "day": day, "time": "18:30"}
    assert moment(rule, booked) == datetime.combine(deadline, time(18, 30), tzinfo=PARIS)


def test_a_wall_time_that_dst_skips_is_taken_in_winter_time():
    # Sunday 29 March 2026 02:30 does not exist in Paris (02:00 → 03:00): the deadline is the
    # instant 02:30 UTC+1 names, 01:30 UTC.
    rule = {"kind": "monthly", "day": 29, "time": "02:30"}
    deadline = moment(rule, date(2026, 4, 14))
    assert deadline.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert is_open_at(datetime(2026, 3, 29, 1, 29, tzinfo=UTC), deadline)
    assert not is_open_at(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), deadline)


@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31)),
    n=st.integers(min_value=1, max_value=31),
)
def test_monthly_deadlines_are_day_n_or_the_last_day_of_the_previous_month(day, n):
    deadline = moment({"kind": "monthly", "day": n, "time": "12:00"}, day)
    first_of_month = day.replace(day=1)
    previous_last = first_of_month - timedelta(days=1)
    assert deadline.date() == previous_last.replace(day=min(n, previous_last.day))
    assert (deadline.hour, deadline.minute) == (12, 0)


# --- weekly, days_before, hours_before, weeks_before ---------------------------------------------


@pytest.mark.parametrize(
    "weekday, deadline", [(0, date(2026, 11, 30)), (4, date(2026, 12, 4)), (6, date(2026, 12, 6))]
)
def test_weekly_is_that_day_of_the_previous_week(weekday, deadline):
    rule = {"kind": "weekly", "weekday": weekday, "time": "08:15"}
    for booked in (date(2026, 12, 7), date(2026, 12, 13)):  # Monday, Sunday of one week
        assert moment(rule, booked) == datetime.combine(deadline, time(8, 15), tzinfo=PARIS)


@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31)),
    weekday=st.integers(min_value=0, max_value=6),
)
def test_weekly_deadlines_fall_in_the_previous_week_on_that_weekday(day, weekday):
    deadline = moment({"kind": "weekly", "weekday": weekday, "time": "23:59"}, day).date()
    monday = day - timedelta(days=day.weekday())
    assert monday - timedelta(days=7) <= deadline < monday
    assert deadline.weekday() == weekday


def test_working_days_without_a_calendar_skip_the_weekend_only():
    rule = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}
    # Monday 30 November 2026 → Friday 27; Sunday 29 → Friday 27 too.
    assert moment(rule, date(2026, 11, 30)) == paris(2026, 11, 27, 9, 0)
    assert moment(rule, date(2026, 11, 29)) == paris(2026, 11, 27, 9, 0)
    # Tuesday → Monday: a plain weekday counts.
    assert moment(rule, date(2026, 12, 1)) == paris(2026, 11, 30, 9, 0)


def test_working_days_false_counts_every_day():
    rule = {"kind": "days_before", "days": 3, "time": "17:45", "working_days": False}
    assert moment(rule, date(2026, 11, 30)) == paris(2026, 11, 27, 17, 45)


def test_zero_days_before_is_the_day_itself_even_in_working_days():
    rule = {"kind": "days_before", "days": 0, "time": "07:00", "working_days": True}
    assert moment(rule, date(2026, 11, 29)) == paris(2026, 11, 29, 7, 0)  # a Sunday


def test_hours_before_counts_from_midnight_by_default():
    assert moment({"kind": "hours_before", "hours": 24}, date(2026, 11, 30)) == paris(
        2026, 11, 29, 0, 0
    )
    assert moment({"kind": "hours_before", "hours": 0}, date(2026, 11, 30)) == paris(
        2026, 11, 30, 0, 0
    )


def test_weeks_before_opens_at_midnight_and_zero_weeks_is_the_day():
    assert moment({"kind": "weeks_before", "weeks": 0}, date(2027, 2, 17)) == paris(
        2027, 2, 17, 0, 0
    )
    assert moment({"kind": "weeks_before", "weeks": 1}, date(2027, 2, 17)) == paris(
        2027, 2, 10, 0, 0
    )


def test_an_unknown_kind_has_no_moment():
    with pytest.raises(RuleError, match=r"^soon$"):
        moment({"kind": "soon"}, date(2027, 2, 17))


# --- validate_rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "days_before", "days": 0, "time": "00:00"},
        {"kind": "days_before", "days": 60, "time": "23:59", "working_days": True},
        {"kind": "days_before", "days": 2, "time": "19:30", "working_days": False},
        {"kind": "hours_before", "hours": 0},
        {"kind": "hours_before", "hours": 1440},
        {"kind": "weekly", "weekday": 0, "time": "10:00"},
        {"kind": "weekly", "weekday": 6, "time": "20:00"},
        {"kind": "monthly", "day": 1, "time": "12:00"},
        {"kind": "monthly", "day": 31, "time": "09:05"},
    ],
)
def test_well_formed_deadline_rules_are_accepted_as_they_are(rule):
    assert validate_rule(rule) is rule
    assert validate_rule(rule, opening=True) is rule


@pytest.mark.parametrize("weeks", [0, 52])
def test_opening_rules_accept_weeks_before_and_none(weeks):
    rule = {"kind": "weeks_before", "weeks": weeks}
    assert validate_rule(rule, opening=True) is rule
    assert validate_rule(None, opening=True) is None


@pytest.mark.parametrize(
    "rule, message",
    [
        (None, "Une règle est un objet JSON."),
        (["days_before"], "Une règle est un objet JSON."),
        ({"days": 1}, "« kind » inconnu : None."),
        ({"kind": "soon"}, "« kind » inconnu : 'soon'."),
        ({"kind": "weeks_before", "weeks": 6}, "« kind » inconnu : 'weeks_before'."),
        ({"kind": "days_before", "days": 61, "time": "09:00"},
         "« days » doit être un entier entre 0 et 60."),
        ({"kind": "days_before", "days": -1, "time": "09:00"},
         "« days » doit être un entier entre 0 et 60."),
        ({"kind": "days_before", "days": "1", "time": "09:00"},
         "« days » doit être un entier entre 0 et 60."),
        ({"kind": "days_before", "days": 1.0, "time": "09:00"},
         "« days » doit être un entier entre 0 et 60."),
        ({"kind": "days_before", "time": "09:00"}, "« days » doit être un entier entre 0 et 60."),
        ({"kind": "days_before", "days": 1}, "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": 900}, "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": "9:00"}, "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": "09:60"}, "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": "24:00"}, "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": "09:00\n"},
         "« time » doit être une heure HH:MM"),
        ({"kind": "days_before", "days": 1, "time": "09:00", "working_days": 1},
         "« working_days » vaut true ou false."),
        ({"kind": "days_before", "days": 1, "time": "09:00", "hours": 1},
         "attribut inconnu 'hours'."),
        ({"kind": "hours_before", "hours": 1441}, "« hours » doit être un entier entre 0 et 1440."),
        ({"kind": "hours_before", "hours": -1}, "« hours » doit être un entier entre 0 et 1440."),
        ({"kind": "hours_before", "hours": 72, "time": "09:00"}, "attribut inconnu 'time'."),
        ({"kind": "weekly", "weekday": 7, "time": "09:00"},
         "« weekday » doit être un entier entre 0 et 6."),
        ({"kind": "weekly", "weekday": -1, "time": "09:00"},
         "« weekday » doit être un entier entre 0 et 6."),
        ({"kind": "weekly", "weekday": True, "time": "09:00"},
         "« weekday » doit être un entier entre 0 et 6."),
        ({"kind": "weekly", "weekday": 1}, "« time » doit être une heure HH:MM"),
        ({"kind": "weekly", "weekday": 1, "time": "09:00", "day": 1}, "attribut inconnu 'day'."),
        ({"kind": "monthly", "day": 0, "time": "09:00"},
         "« day » doit être un entier entre 1 et 31."),
        ({"kind": "monthly", "day": 32, "time": "09:00"},
         "« day » doit être un entier entre 1 et 31."),
        ({"kind": "monthly", "day": 20}, "« time » doit être une heure HH:MM"),
        ({"kind": "monthly", "day": 20, "time": "09:00", "weekday": 1, "a": 1},
         "attribut inconnu 'a'."),
    ],
)  # fmt: skip
def test_malformed_deadline_rules_say_what_is_wrong(rule, message):
    with pytest.raises(RuleError) as refused:
        validate_rule(rule)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"kind": "weeks_before", "weeks": 53}, "« weeks » doit être un entier entre 0 et 52."),
        ({"kind": "weeks_before", "weeks": -1}, "« weeks » doit être un entier entre 0 et 52."),
        ({"kind": "weeks_before", "weeks": 2, "days": 1}, "attribut inconnu 'days'."),
        ("J-1", "Une règle est un objet JSON."),
    ],
)
def test_malformed_opening_rules_say_what_is_wrong(rule, message):
    with pytest.raises(RuleError) as refused:
        validate_rule(rule, opening=True)
    assert str(refused.value) == message


def test_the_time_message_gives_an_example():
    with pytest.raises(
        RuleError, match=r"^« time » doit être une heure HH:MM \(par exemple « 09:00 »\)\.$"
    ):
        validate_rule({"kind": "weekly", "weekday": 1, "time": "midi"})


@pytest.mark.parametrize("value", ["00:00", "09:59", "19:00", "20:00", "23:59"])
def test_every_hour_of_the_day_is_a_time(value):
    assert validate_rule({"kind": "monthly", "day": 5, "time": value})


# --- describe, format_moment ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, words",
    [
        (None, "dès l'inscription"),
        ({"kind": "days_before", "days": 0, "time": "08:00"}, "le jour même à 08:00"),
        ({"kind": "days_before", "days": 0, "time": "08:00", "working_days": True},
         "le jour même à 08:00"),
        ({"kind": "days_before", "days": 1, "time": "09:00"}, "1 jour avant, à 09:00"),
        ({"kind": "days_before", "days": 2, "time": "09:00"}, "2 jours avant, à 09:00"),
        ({"kind": "days_before", "days": 2, "time": "12:00", "working_days": True},
         "2 jours ouvrés avant, à 12:00"),
        ({"kind": "days_before", "days": 1, "time": "12:00", "working_days": False},
         "1 jour avant, à 12:00"),
        ({"kind": "hours_before", "hours": 1}, "1 heure avant le début"),
        ({"kind": "hours_before", "hours": 48}, "48 heures avant le début"),
        ({"kind": "weekly", "weekday": 0, "time": "10:00"},
         "le lundi de la semaine précédente à 10:00"),
        ({"kind": "weekly", "weekday": 6, "time": "20:00"},
         "le dimanche de la semaine précédente à 20:00"),
        ({"kind": "monthly", "day": 20, "time": "12:00"}, "le 20 du mois précédent à 12:00"),
        ({"kind": "weeks_before", "weeks": 1}, "1 semaine avant"),
        ({"kind": "weeks_before", "weeks": 6}, "6 semaines avant"),
    ],
)  # fmt: skip
def test_describe_says_each_kind_in_french(rule, words):
    assert describe(rule) == words


@pytest.mark.parametrize(
    "weekday, name",
    list(enumerate(["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"])),
)
def test_describe_names_each_weekday(weekday, name):
    rule = {"kind": "weekly", "weekday": weekday, "time": "18:00"}
    assert describe(rule) == f"le {name} de la semaine précédente à 18:00"


def test_format_moment_says_the_paris_day_and_time():
    assert format_moment(paris(2026, 9, 4, 9, 0)) == "vendredi 4 septembre 2026 à 09:00"
    # An instant in UTC is said in Paris time: 23:30 UTC on 31 December is 1 January at
    # 00:30 (« 1er »).
    assert format_moment(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == (
        "vendredi 1er janvier 2027 à 00:30"
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "days_before", "days": 1, "time": "09:00"},
        {"kind": "hours_before", "hours": 72},
        {"kind": "weekly", "weekday": 1, "time": "23:59"},
        {"kind": "monthly", "day": 20, "time": "12:00"},
        {"kind": "weeks_before", "weeks": 6},
    ],
)
def test_every_moment_is_in_the_paris_zone_not_a_fixed_offset(rule):
    # A caller adding days to it keeps the wall time across a DST change only in the zone.
    assert moment(rule, date(2026, 10, 27), starts_at=time(7, 30)).tzinfo is PARIS
