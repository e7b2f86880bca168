"""Long dates as French writes them: the first day of a month is « 1er » (« 1er septembre
2026 », « lundi 1er juin »), every other day its number; other languages unchanged
(« 1 September 2026 »). And the months' bounds, for every app."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

LONG = "j F Y"


def _first_of_month(fmt: str) -> str:
    # Django's format characters: « j » is the day without a leading zero; a backslash escapes
    # the next character, which is how « 1er » goes in literally.
    out, chars = [], iter(fmt)
    for char in chars:
        if char == "\\":
            out.append(char + next(chars, ""))
        elif char == "j":
            out.append(r"1\e\r")
        else:
            out.append(char)
    return "".join(out)


def long_date(value: date | None, fmt: str = LONG) -> str:
    """`date_format(value, fmt)`, with « 1er » for the first of a month in French."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if value.day == 1 and (get_language() or "fr").split("-")[0] == "fr":
        fmt = _first_of_month(fmt)
    return date_format(value, fmt)


# --- Months (one home for every app: invoicing runs, the régie's periods, the household grid) ----


def first_of_month(day: date, months: int = 0) -> date:
    """The first day of the month `months` after (or before, when negative) `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s month."""
    return first_of_month(day), first_of_month(day, 1) - timedelta(days=1)


# --- Weeks (the calendars, the household grid, the registers, the reminders, shared custody) ----


def monday_of(day: date) -> date:
    """The Monday of `day`'s week (weeks start on Monday in France)."""
    return day - timedelta(days=day.weekday())
