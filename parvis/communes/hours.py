"""Opening hours as data: ranges per weekday, exceptional closures and public holidays.

Pure functions over plain values, so the rules are tested at their edges without a database.
Times are wall-clock times in Europe/Paris; a range is open from its opening minute included to
its closing minute excluded (at 12:00 an office that « ferme à 12h00 » is closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from parvis.communes.dates import long_date

PARIS = ZoneInfo("Europe/Paris")

WEEKDAYS = [
    (0, gettext_lazy("Lundi")),
    (1, gettext_lazy("Mardi")),
    (2, gettext_lazy("Mercredi")),
    (3, gettext_lazy("Jeudi")),
    (4, gettext_lazy("Vendredi")),
    (5, gettext_lazy("Samedi")),
    (6, gettext_lazy("Dimanche")),
]
WEEKDAY_NAMES = dict(WEEKDAYS)

# How far ahead the next opening is looked for (a long summer closure stays well inside it).
SEARCH_HORIZON_DAYS = 120


@dataclass(frozen=True, order=True)
class Range:
    weekday: int  # 0 = Monday, as date.weekday()
    opens: time
    closes: time


@dataclass(frozen=True)
class Closed:
    start: date
    end: date  # included
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class OpeningStatus:
    is_open: bool
    closes_at: datetime | None = None  # when open: the end of the current opening
    opens_at: datetime | None = None  # when closed: the next opening, None if none is known
    closed_reason: str = ""  # when closed all day: the closure or public holiday


# The holidays library's own translations of the holiday names, by Parvis language.
HOLIDAY_LANGUAGES = {"fr": "fr", "en": "en_US"}


@cache
def _french_holidays(year: int, language: str) -> dict[date, str]:
    return dict(holidays.country_holidays("FR", years=year, language=language))


def public_holiday(day: date) -> str | None:
    """Name of the French public holiday on `day` (« Jour de l'an »…), None on a working day."""
    language = HOLIDAY_LANGUAGES.get((get_language() or "fr")[:2], "fr")
    return _french_holidays(day.year, language).get(day)


def closure_reason(
    day: date,
    closures: Iterable[Closed],
    holiday_name: Callable[[date], str | None] = public_holiday,
) -> str | None:
    """Why a place is closed all day on `day`: an exceptional closure or a public holiday."""
    for closure in closures:
        if closure.covers(day):
            return closure.reason or _("Fermeture exceptionnelle")
    return holiday_name(day)


def _merged_day_ranges(ranges: Iterable[Range], weekday: int) -> list[tuple[time, time]]:
    """The day's ranges in order, back-to-back ranges merged (8h-12h + 12h-14h = 8h-14h)."""
    merged: list[tuple[time, time]] = []
    for r in sorted(r for r in ranges if r.weekday == weekday):
        if merged and r.opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], r.closes))
        else:
            merged.append((r.opens, r.closes))
    return merged


def opening_status(
    ranges: Iterable[Range],
    closures: Iterable[Closed],
    now: datetime,
    holiday_name: Callable[[date], str | None] = public_holiday,
) -> OpeningStatus:
    ranges = list(ranges)
    closures = list(closures)
    local = now.astimezone(PARIS)
    today = local.date()
    wall = local.time().replace(tzinfo=None)

    def at(day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=PARIS)

    reason_today = closure_reason(today, closures, holiday_name)
    if reason_today is None:
        for opens, closes in _merged_day_ranges(ranges, today.weekday()):
            if opens <= wall < closes:
                return OpeningStatus(is_open=True, closes_at=at(today, closes))

    for offset in range(SEARCH_HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        if closure_reason(day, closures, holiday_name) is not None:
            continue
        for opens, _closes in _merged_day_ranges(ranges, day.weekday()):
            if offset > 0 or opens > wall:
                return OpeningStatus(
                    is_open=False, opens_at=at(day, opens), closed_reason=reason_today or ""
                )
    return OpeningStatus(is_open=False, closed_reason=reason_today or "")


def weekday_in_sentence(weekday: int) -> str:
    """A weekday's name inside a sentence: lower-case in French (« ouvre lundi »), as the
    language writes it elsewhere (« opens Monday »)."""
    name = str(WEEKDAY_NAMES[weekday])
    return name.lower() if (get_language() or "fr").startswith("fr") else name


def format_time(moment: time, *, short: bool = False) -> str:
    """8h30, 12h00; with short=True, 12h as in printed timetables (« 8h30-12h »)."""
    if short and moment.minute == 0:
        return f"{moment.hour}h"
    return f"{moment.hour}h{moment.minute:02d}"


def status_label(status: OpeningStatus, now: datetime) -> str:
    """« Ouvert maintenant — ferme à 12h00 », « Fermé — ouvre lundi à 8h30 »."""
    if status.is_open:
        assert status.closes_at is not None
        return _("Ouvert maintenant — ferme à %(heure)s") % {
            "heure": format_time(status.closes_at.time())
        }
    if status.opens_at is None:
        return _("Fermé")
    today = now.astimezone(PARIS).date()
    opens = status.opens_at.astimezone(PARIS)
    heure = format_time(opens.time())
    days = (opens.date() - today).days
    if days == 0:
        return _("Fermé — ouvre à %(heure)s") % {"heure": heure}
    if days == 1:
        return _("Fermé — ouvre demain à %(heure)s") % {"heure": heure}
    if days < 7:
        return _("Fermé — ouvre %(jour)s à %(heure)s") % {
            "jour": weekday_in_sentence(opens.weekday()),
            "heure": heure,
        }
    return _("Fermé — ouvre le %(date)s à %(heure)s") % {
        "date": long_date(opens.date(), "l j F"),
        "heure": heure,
    }


@dataclass(frozen=True)
class DayHours:
    weekday: int
    name: str
    ranges: list[tuple[time, time]]

    @property
    def label(self) -> str:
        """« 8h30-12h / 13h45-17h30 », or « Fermé »."""
        if not self.ranges:
            return _("Fermé")
        return " / ".join(
            f"{format_time(o, short=True)}-{format_time(c, short=True)}" for o, c in self.ranges
        )


def week_table(ranges: Iterable[Range], *, include_closed_days: bool = False) -> list[DayHours]:
    """One row per weekday with its ranges; days without any range are left out unless asked."""
    ranges = list(ranges)
    table = [
        DayHours(weekday=day, name=str(name), ranges=_merged_day_ranges(ranges, day))
        for day, name in WEEKDAYS
    ]
    return [row for row in table if row.ranges or include_closed_days]
