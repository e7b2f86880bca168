"""The opening calendar of the activities: which days a unit runs, and why not when it does not.

French public holidays come from the `holidays` package (through communes.hours), school
holidays by academic zone (A, B, C) from `vacances-scolaires-france`: maintained data, never typed
by hand. Closures decided by agents (strike, works) are passed in by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

from django.utils.translation import gettext as _
from vacances_scolaires_france import SchoolHolidayDates, UnsupportedYearException

from parvis.communes.hours import public_holiday

ZONES = ("A", "B", "C")


@cache
def _school_holidays() -> SchoolHolidayDates:
    return SchoolHolidayDates()


def school_holiday(day: date, zone: str) -> str | None:
    """The name of the school holidays of `zone` on `day` (« Vacances de la Toussaint »), or
    None. Outside the package's years, None (said once by `covers`)."""
    data = _school_holidays()
    try:
        if data.is_holiday_for_zone(day, zone):
            return data.data[day]["nom_vacances"]
    except UnsupportedYearException:
        return None
    return None


def covers(day: date) -> bool:
    """Whether the school-holiday data knows `day`'s year (the package is updated yearly)."""
    data = _school_holidays()
    return data.min_year <= day.year <= data.max_year


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a public holiday: what « jours ouvrés » count."""
    return day.weekday() < 5 and public_holiday(day) is None


@dataclass(frozen=True)
class Closed:
    """Why a unit does not run on a day (said next to the day in the calendar)."""

    code: str  # weekday, public_holiday, school_holiday, term, closure, period
    reason: str


def closed_reason(
    day: date,
    *,
    zone: str,
    weekdays: Iterable[int],
    during: str,
    start: date,
    end: date,
    closures: dict[date, str] | None = None,
) -> Closed | None:
    """None when a unit runs on `day`, else why not. `weekdays` are the unit's days (0 = Monday);
    `during` says when the activity runs: « school » (school days: not during school holidays)
    or « holidays » (a holiday session: only during school holidays); `start`..`end` is its
    period; `closures` maps a day to the reason an agent gave."""
    if not start <= day <= end:
        return Closed("period", _("hors de la période de l'activité"))
    name = public_holiday(day)
    if name:
        return Closed("public_holiday", _("jour férié (%(name)s)") % {"name": name})
    if closures and day in closures:
        return Closed("closure", _("fermeture : %(reason)s") % {"reason": closures[day]})
    if day.weekday() not in set(weekdays):
        return Closed("weekday", _("pas d'accueil ce jour de la semaine"))
    holiday = school_holiday(day, zone)
    if during == "school" and holiday:
        return Closed("school_holiday", holiday)
    if during == "holidays" and not holiday:
        return Closed("term", _("période scolaire : pas de centre de vacances"))
    return None
