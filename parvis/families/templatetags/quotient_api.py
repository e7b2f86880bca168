"""Reading what API Particulier answered with a QF (QuotientFamilial.details) in templates."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def qf_month(details) -> date | None:
    """« 2026-11 » → 1 November 2026 (for |date:"F Y"); None when absent or malformed."""
    try:
        year, month = (int(part) for part in str((details or {}).get("month", "")).split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError, AttributeError):
        return None


@register.filter
def qf_fetched_at(details) -> datetime | None:
    """When the QF was fetched, in the local time zone; None when absent or malformed."""
    try:
        moment = datetime.fromisoformat(str((details or {}).get("fetched_at", "")))
    except (TypeError, ValueError, AttributeError):
        return None
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


@register.filter
def iso_day(value: str) -> date | None:
    """« 2018-06-02 » → a date (for |date:"d/m/Y")."""
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
