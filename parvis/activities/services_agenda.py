"""The household's calendar feed and the reminders setting (« Agenda et rappels »).

The feed is a private URL with a random token (`secrets.token_urlsafe(32)`, 256 bits) stored in
a unique column: it is looked up in the database, never compared in Python. Calendar apps cannot
log in, so the token is the only credential: it answers only for an active citizen account of
the commune in the URL, and « Révoquer ce lien » replaces it at once (the old URL is a 404).
The feed lists the bookings of every child of the families linked to the account, from 30 days
ago to the end of their activities, in a constant number of queries."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities import ical
from parvis.activities.models import BookingPreferences, BookingStatus, Reservation
from parvis.activities.rules import format_moment
from parvis.communes.models import Commune
from parvis.families.selectors_citizen import _linked_families
from parvis.mail import absolute_url

PAST_DAYS = 30
FEED_STATUSES = (BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE, BookingStatus.PROPOSEE)
TOKEN_MAX_LENGTH = 64  # the column's length: anything longer cannot be a token


# --- Writes ------------------------------------------------------------------------------------


def _preferences(user: User) -> BookingPreferences:
    preferences, _created = BookingPreferences.objects.select_for_update().get_or_create(
        user=user, defaults={"commune_id": user.commune_id}
    )
    return preferences


@transaction.atomic
def create_feed(*, user: User, now: datetime | None = None) -> BookingPreferences:
    """« Créer mon lien d'agenda », and « Révoquer ce lien »: a new token, which replaces the
    previous one if any (the old URL stops answering)."""
    now = now or timezone.now()
    preferences = _preferences(user)
    had_one = bool(preferences.feed_token)
    preferences.feed_token = secrets.token_urlsafe(32)
    preferences.feed_created_at = now
    preferences.save(update_fields=["feed_token", "feed_created_at"])
    audit(
        actor=user,
        action="agenda.feed_revoked" if had_one else "agenda.feed_created",
        commune=user.commune,
        target=preferences,
        changes={"feed_created_at": [None, now.isoformat()]},
    )
    return preferences


@transaction.atomic
def set_reminders(*, user: User, enabled: bool) -> BookingPreferences:
    """The opt-out of the deadline reminders (on by default)."""
    preferences = _preferences(user)
    if preferences.deadline_reminders != enabled:
        audit(
            actor=user,
            action="agenda.reminders",
            commune=user.commune,
            target=preferences,
            changes={"deadline_reminders": [preferences.deadline_reminders, enabled]},
        )
        preferences.deadline_reminders = enabled
        preferences.save(update_fields=["deadline_reminders"])
    return preferences


# --- Reads -------------------------------------------------------------------------------------


def preferences_of(*, user: User) -> BookingPreferences | None:
    return BookingPreferences.objects.filter(user=user).first()


def feed_url(*, commune: Commune, token: str) -> str:
    return absolute_url(reverse("activities:agenda_ics", args=[commune.slug, token]))


def feed_account(*, commune: Commune, token: str) -> User | None:
    """The account whose feed `token` is, if it is an active citizen of `commune`; else None.
    One query (none for a string that cannot be a token)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    preferences = (
        BookingPreferences.objects.filter(
            feed_token=token,
            commune=commune,
            user__commune=commune,
            user__is_active=True,
            user__is_staff=False,
        )
        .select_related("user")
        .first()
    )
    return preferences.user if preferences is not None else None


def feed_bookings(*, user: User, commune: Commune, today) -> list[Reservation]:
    """The bookings shown in the feed (booked, pending, offered), from `PAST_DAYS` days before
    `today` to the end of their activities: one query whatever their number."""
    return list(
        Reservation.objects.filter(
            commune=commune,
            famille__in=_linked_families(user=user, commune=commune),
            status__in=FEED_STATUSES,
            day__gte=today - timedelta(days=PAST_DAYS),
            day__lte=F("unit__activity__end"),
        )
        .select_related("child", "unit__activity")
        .order_by("day", "unit__starts_at", "child_id", "pk")
    )


def _uid_host() -> str:
    return urlsplit(settings.PARVIS_BASE_URL).hostname or "parvis"


def _event(reservation: Reservation, *, commune: Commune, host: str) -> ical.Event:
    unit, activity = reservation.unit, reservation.unit.activity
    summary = _("%(child)s — %(unit)s (%(activity)s)") % {
        "child": reservation.child.first_names,
        "unit": unit.label,
        "activity": activity.name,
    }
    lines = [str(BookingStatus(reservation.status).label)]
    if reservation.status == BookingStatus.PROPOSEE:
        summary = _("Place proposée : %(summary)s") % {"summary": summary}
        if reservation.offer_expires_at:
            lines.append(
                _("À accepter avant le %(moment)s.")
                % {"moment": format_moment(reservation.offer_expires_at)}
            )
        url = absolute_url(reverse("activities:offre", args=[commune.slug, reservation.pk]))
    else:
        if reservation.status == BookingStatus.EN_ATTENTE:
            summary = _("%(summary)s — en attente") % {"summary": summary}
        url = absolute_url(
            reverse(
                "activities:calendrier",
                args=[commune.slug, activity.slug, reservation.child_id],
            )
        )
    return ical.Event(
        uid=f"reservation-{reservation.pk}@{host}",
        start=datetime.combine(reservation.day, unit.starts_at),
        end=datetime.combine(reservation.day, unit.ends_at),
        summary=summary,
        status="CONFIRMED" if reservation.status == BookingStatus.RESERVEE else "TENTATIVE",
        description="\n".join(lines),
        url=url,
    )


def feed(*, user: User, commune: Commune, now: datetime | None = None) -> str:
    """The iCalendar text of `user`'s households' bookings in `commune`."""
    now = now or timezone.now()
    host = _uid_host()
    bookings = feed_bookings(user=user, commune=commune, today=timezone.localdate(now))
    return ical.calendar(
        name=_("Réservations — %(commune)s") % {"commune": commune.name},
        events=[_event(reservation, commune=commune, host=host) for reservation in bookings],
        stamp=now,
    )
