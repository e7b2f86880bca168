"""The payment notifications' per-address limit, on the throttles' Attempt rows (issue 24 §1).

The notification endpoint is CSRF-exempt and anonymous by nature (a bank's server calls it). A
bank signs its notifications: only forgeries and misconfigurations are unsigned, so those are
counted per address and commune; past the limit they are refused unread and unlogged. The count
lives in the database, so every app server sees the same one, and `purge_attempts` clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.communes.models import Commune

NOTIFICATION_MAX_UNSIGNED = 20
NOTIFICATION_WINDOW = timedelta(minutes=10)


def unsigned_notifications_throttled(
    *, commune: Commune, ip: str | None, now: datetime | None = None
) -> bool:
    """Whether `ip` sent NOTIFICATION_MAX_UNSIGNED unsigned notifications to `commune` within
    NOTIFICATION_WINDOW."""
    if not ip:
        return False
    now = now or timezone.now()
    recent = Attempt.objects.filter(
        commune=commune,
        kind=Attempt.Kind.NOTIFICATION,
        ip=ip,
        succeeded=False,
        at__gte=now - NOTIFICATION_WINDOW,
    )
    return recent[:NOTIFICATION_MAX_UNSIGNED].count() >= NOTIFICATION_MAX_UNSIGNED


def record_unsigned_notification(*, commune: Commune, ip: str | None) -> None:
    Attempt.objects.create(
        commune=commune, kind=Attempt.Kind.NOTIFICATION, ip=ip or None, at=timezone.now()
    )
