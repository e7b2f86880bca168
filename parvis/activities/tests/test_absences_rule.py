"""The commune's absence rule (parvis.activities.absences) at its edges: the minute before and
after the certificate's delay, exactly the minimum number of days, a DST change inside the
window (real hours), and its properties over many cases (hypothesis)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parvis.activities.absences import (
    certificate_deadline,
    certificate_open_until,
    days_of,
    justification,
)
from parvis.activities.rules import PARIS

THURSDAY = date(2026, 11, 19)


def rule(
    *,
    first_day=THURSDAY,
    last_day=THURSDAY,
    reason="maladie",
    certificate_at=None,
    certificate_hours=72,
    min_days=1,
):
    return justification(
        first_day=first_day,
        last_day=last_day,
        reason=reason,
        certificate_at=certificate_at,
        certificate_hours=certificate_hours,
        min_days=min_days,
    )


def test_a_certificate_within_the_delay_justifies():
    at = datetime(2026, 11, 19, 9, 30, tzinfo=PARIS)
    assert rule(certificate_at=at) == (True, "certificat reçu dans les 72 h")


def test_the_delay_counts_from_midnight_of_the_first_day_to_the_minute():
    # 72 h after Thursday 00:00 is Sunday 00:00 (no DST change in November).
    deadline = datetime(2026, 11, 22, 0, 0, tzinfo=PARIS)
    assert certificate_deadline(THURSDAY, 72) == deadline
    assert rule(certificate_at=deadline - timedelta(minutes=1))[0] is True
    assert rule(certificate_at=deadline)[0] is True  # « no later than »: the deadline counts
    late, why = rule(certificate_at=deadline + timedelta(minutes=1))
    assert late is False
    assert why == "certificat reçu après le délai de 72 h (le dimanche 22 novembre 2026 à 00:01)"


def test_the_delay_is_the_communes():
    at = datetime(2026, 11, 21, 0, 1, tzinfo=PARIS)  # 48 h and one minute
    assert rule(certificate_at=at, certificate_hours=48)[0] is False
    assert rule(certificate_at=at, certificate_hours=72)[0] is True
    assert rule(certificate_at=at - timedelta(minutes=1), certificate_hours=48) == (
        True,
        "certificat reçu dans les 48 h",
    )


def test_a_certificate_received_before_the_absence_starts_counts():
    assert rule(certificate_at=datetime(2026, 11, 18, 20, 0, tzinfo=PARIS))[0] is True


def test_without_certificate_it_is_not_justified():
    assert rule() == (False, "sans certificat")


def test_exactly_min_days_is_enough_one_less_is_not():
    at = datetime(2026, 11, 19, 9, 0, tzinfo=PARIS)
    three = rule(last_day=THURSDAY + timedelta(days=2), certificate_at=at, min_days=3)
    assert three == (True, "certificat reçu dans les 72 h")
    two = rule(last_day=THURSDAY + timedelta(days=1), certificate_at=at, min_days=3)
    assert two == (
        False,
        "absence de 2 jours : la commune rembourse à partir de 3 jours consécutifs",
    )
    one = rule(certificate_at=at, min_days=3)
    assert one == (
        False,
        "absence de 1 jour : la commune rembourse à partir de 3 jours consécutifs",
    )


def test_calendar_days_count_the_weekend():
    # Friday to Monday: 4 consecutive calendar days.
    assert days_of(date(2026, 11, 20), date(2026, 11, 23)) == 4
    at = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
    assert rule(
        first_day=date(2026, 11, 20), last_day=date(2026, 11, 23), certificate_at=at, min_days=4
    )[0]


def test_too_short_is_said_before_the_missing_certificate():
    assert rule(min_days=3)[1].startswith("absence de 1 jour")


@pytest.mark.parametrize("reason", ["famille", "autre"])
def test_the_reason_changes_only_the_words(reason):
    at = datetime(2026, 11, 19, 9, 0, tzinfo=PARIS)
    assert rule(reason=reason, certificate_at=at) == (True, "certificat reçu dans les 72 h")
    label = {"famille": "raison familiale", "autre": "autre raison"}[reason]
    assert rule(reason=reason) == (False, f"sans certificat (motif : {label})")


def test_dst_spring_forward_inside_the_window_is_real_hours():
    # Saturday 27 March 2027 00:00 (UTC+1); summer time from Sunday 28 at 02:00 (UTC+2).
    # 72 real hours later is Tuesday 30 at 01:00 local, not 00:00.
    first = date(2027, 3, 27)
    deadline = certificate_deadline(first, 72)
    assert deadline == datetime(2027, 3, 30, 1, 0, tzinfo=PARIS)
    start = datetime(2027, 3, 27, 0, 0, tzinfo=PARIS)
    assert deadline.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=72)
    at_wall_72 = datetime(2027, 3, 30, 0, 30, tzinfo=PARIS)  # 71 h 30 of real time
    assert rule(first_day=first, last_day=first, certificate_at=at_wall_72)[0] is True
    assert rule(first_day=first, last_day=first, certificate_at=deadline)[0] is True
    assert (
        rule(first_day=first, last_day=first, certificate_at=deadline + timedelta(minutes=1))[0]
        is False
    )


def test_dst_fall_back_inside_the_window_is_real_hours():
    # Saturday 30 October 2027 00:00 (UTC+2); winter time from Sunday 31 at 03:00 (UTC+1).
    # 72 real hours later is Monday 1 November at 23:00 local, not Tuesday 2 at 00:00.
    first = date(2027, 10, 30)
    deadline = certificate_deadline(first, 72)
    assert deadline == datetime(2027, 11, 1, 23, 0, tzinfo=PARIS)
    at = datetime(2027, 11, 1, 23, 30, tzinfo=PARIS)  # wall time within 72 h, real time not
    assert rule(first_day=first, last_day=first, certificate_at=at)[0] is False


def test_until_when_a_certificate_still_helps():
    now = datetime(2026, 11, 19, 8, 0, tzinfo=PARIS)
    kwargs = {
        "first_day": THURSDAY, "last_day": THURSDAY, "has_certificate": False,
        "certificate_hours": 72, "min_days": 1,
    }  # fmt: skip
    deadline = datetime(2026, 11, 22, 0, 0, tzinfo=PARIS)
    assert certificate_open_until(**kwargs, now=now) == deadline
    assert certificate_open_until(**kwargs, now=deadline) == deadline
    assert certificate_open_until(**kwargs, now=deadline + timedelta(minutes=1)) is None
    assert certificate_open_until(**{**kwargs, "has_certificate": True}, now=now) is None
    assert certificate_open_until(**{**kwargs, "min_days": 2}, now=now) is None


# --- Properties ----------------------------------------------------------------------------------

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31))


@given(
    first=days,
    length=st.integers(min_value=1, max_value=31),
    hours=st.integers(min_value=1, max_value=24 * 7),
    min_days=st.integers(min_value=1, max_value=7),
    offset_minutes=st.integers(min_value=-3 * 24 * 60, max_value=10 * 24 * 60),
    reason=st.sampled_from(["maladie", "famille", "autre"]),
)
def test_justified_iff_long_enough_and_certificate_within_real_hours(
    first, length, hours, min_days, offset_minutes, reason
):
    last = first + timedelta(days=length - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    received = (start + timedelta(minutes=offset_minutes)).astimezone(PARIS)
    justified, why = justification(
        first_day=first,
        last_day=last,
        reason=reason,
        certificate_at=received,
        certificate_hours=hours,
        min_days=min_days,
    )
    expected = length >= min_days and offset_minutes <= hours * 60
    assert justified is expected
    assert why  # always says why


@given(first=days, hours=st.integers(min_value=1, max_value=24 * 7))
def test_the_deadline_is_always_that_many_real_hours_after_midnight(first, hours):
    start = datetime.combine(first, datetime.min.time(), tzinfo=PARIS)
    deadline = certificate_deadline(first, hours)
    assert deadline.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)


@given(
    first=days,
    length=st.integers(min_value=1, max_value=31),
    reason=st.sampled_from(["maladie", "famille", "autre"]),
    min_days=st.integers(min_value=1, max_value=7),
)
def test_never_justified_without_a_certificate(first, length, reason, min_days):
    justified, why = justification(
        first_day=first,
        last_day=first + timedelta(days=length - 1),
        reason=reason,
        certificate_at=None,
        certificate_hours=72,
        min_days=min_days,
    )
    assert justified is False
    assert why.startswith("sans certificat") or why.startswith("absence de")
