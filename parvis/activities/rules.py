"""Booking rules as data: when a day of an activity opens for booking, and until when it can be
booked or cancelled, in the forms towns use. Pure functions, in Europe/Paris, DST-safe.

A deadline rule is a small JSON object (stored on the activity, validated by `validate_rule`):

    {"kind": "days_before", "days": 1, "time": "09:00", "working_days": true}
        J-N at HH:MM; with working_days, only working days count (no weekend, no public
        holiday): Monday's booking by the previous Friday 09:00.
    {"kind": "hours_before", "hours": 72}
        a number of real hours before the unit starts (72 h), across DST changes.
    {"kind": "weekly", "weekday": 1, "time": "23:59"}
        the given weekday (0 = Monday) of the previous week: « Tuesday 23:59 for next week ».
    {"kind": "monthly", "day": 20, "time": "12:00"}
        day N of the previous month (« le 20 du mois précédent »).

An opening rule says from when a day can be booked: {"kind": "weeks_before", "weeks": 6}, or
a deadline-shaped rule (the moment booking opens); None means as soon as the child is
registered.

A change is allowed while now < deadline: at HH:MM exactly, it is closed.
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from parvis.communes.dates import long_date, monday_of

PARIS = ZoneInfo("Europe/Paris")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
KINDS = {"days_before", "hours_before", "weekly", "monthly", "weeks_before"}
WEEKDAYS = [
    gettext_lazy("lundi"),
    gettext_lazy("mardi"),
    gettext_lazy("mercredi"),
    gettext_lazy("jeudi"),
    gettext_lazy("vendredi"),
    gettext_lazy("samedi"),
    gettext_lazy("dimanche"),
]


class RuleError(ValueError):
    """A rule that is not well formed; the message says what, in French."""


def _int(rule: dict, key: str, low: int, high: int) -> int:
    value = rule.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(f"« {key} » doit être un entier entre {low} et {high}.")
    return value


def _time(rule: dict) -> time:
    value = rule.get("time")
    if not isinstance(value, str) or not TIME_RE.fullmatch(value):  # « $ » lets a "\n" in
        raise RuleError("« time » doit être une heure HH:MM (par exemple « 09:00 »).")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def validate_rule(rule, *, opening: bool = False) -> dict | None:
    """`rule` if well formed (None allowed for an opening rule), else RuleError."""
    if rule is None and opening:
        return None
    if not isinstance(rule, dict):
        raise RuleError("Une règle est un objet JSON.")
    kind = rule.get("kind")
    if kind not in KINDS or (kind == "weeks_before" and not opening):
        raise RuleError(f"« kind » inconnu : {kind!r}.")
    allowed = {"kind"}
    if kind == "days_before":
        _int(rule, "days", 0, 60)
        _time(rule)
        if not isinstance(rule.get("working_days", False), bool):
            raise RuleError("« working_days » vaut true ou false.")
        allowed |= {"days", "time", "working_days"}
    elif kind == "hours_before":
        _int(rule, "hours", 0, 24 * 60)
        allowed |= {"hours"}
    elif kind == "weekly":
        _int(rule, "weekday", 0, 6)
        _time(rule)
        allowed |= {"weekday", "time"}
    elif kind == "monthly":
        _int(rule, "day", 1, 31)
        _time(rule)
        allowed |= {"day", "time"}
    elif kind == "weeks_before":
        _int(rule, "weeks", 0, 52)
        allowed |= {"weeks"}
    unknown = sorted(set(rule) - allowed)
    if unknown:
        raise RuleError(f"attribut inconnu {unknown[0]!r}.")
    return rule


def _local(day: date, at: time) -> datetime:
    # zoneinfo resolves a wall time that DST skips or repeats (fold=0: the first one).
    return datetime.combine(day, at, tzinfo=PARIS)


def _working_days_before(day: date, count: int, is_working_day: Callable[[date], bool]) -> date:
    current = day
    while count > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            count -= 1
    return current


def moment(
    rule: dict,
    day: date,
    *,
    starts_at: time = time(0, 0),
    is_working_day: Callable[[date], bool] | None = None,
) -> datetime:
    """The moment `rule` gives for a booking on `day` (whose unit starts at `starts_at`), as an
    aware datetime in Europe/Paris."""
    kind = rule["kind"]
    if kind == "days_before":
        if rule.get("working_days"):
            checker = is_working_day or (lambda d: d.weekday() < 5)
            target = _working_days_before(day, rule["days"], checker)
        else:
            target = day - timedelta(days=rule["days"])
        return _local(target, _time(rule))
    if kind == "hours_before":
        start = _local(day, starts_at).astimezone(ZoneInfo("UTC"))
        return (start - timedelta(hours=rule["hours"])).astimezone(PARIS)
    if kind == "weekly":
        monday = monday_of(day)
        return _local(monday - timedelta(days=7 - rule["weekday"]), _time(rule))
    if kind == "monthly":
        year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
        last = _calendar.monthrange(year, month)[1]
        return _local(date(year, month, min(rule["day"], last)), _time(rule))
    if kind == "weeks_before":
        return _local(day - timedelta(weeks=rule["weeks"]), time(0, 0))
    raise RuleError(kind)


def is_open_at(now: datetime, deadline: datetime) -> bool:
    """Whether a change made at `now` beats `deadline` (strictly before it)."""
    return now < deadline


def describe(rule: dict | None) -> str:
    """The rule in French, for the families (« la veille ouvrée à 09:00 »…)."""
    if rule is None:
        return _("dès l'inscription")
    kind = rule["kind"]
    if kind == "days_before":
        days = rule["days"]
        if days == 0:
            return _("le jour même à %(time)s") % {"time": rule["time"]}
        if rule.get("working_days"):
            text = ngettext(
                "%(days)s jour ouvré avant, à %(time)s",
                "%(days)s jours ouvrés avant, à %(time)s",
                days,
            )
        else:
            text = ngettext(
                "%(days)s jour avant, à %(time)s", "%(days)s jours avant, à %(time)s", days
            )
        return text % {"days": days, "time": rule["time"]}
    if kind == "hours_before":
        return ngettext(
            "%(hours)s heure avant le début", "%(hours)s heures avant le début", rule["hours"]
        ) % {"hours": rule["hours"]}
    if kind == "weekly":
        return _("le %(weekday)s de la semaine précédente à %(time)s") % {
            "weekday": str(WEEKDAYS[rule["weekday"]]),
            "time": rule["time"],
        }
    if kind == "monthly":
        return _("le %(day)s du mois précédent à %(time)s") % {
            "day": rule["day"],
            "time": rule["time"],
        }
    return ngettext("%(weeks)s semaine avant", "%(weeks)s semaines avant", rule["weeks"]) % {
        "weeks": rule["weeks"]
    }


def format_moment(value: datetime) -> str:
    """« vendredi 4 septembre 2026 à 09:00 », in the local time."""
    local = value.astimezone(PARIS)
    return _("%(day)s à %(time)s") % {
        "day": long_date(local.date(), "l j F Y"),
        "time": local.strftime("%H:%M"),
    }
