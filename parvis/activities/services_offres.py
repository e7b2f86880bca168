"""The waiting list's offers (« places proposées »): when a seat frees, reservations.move offers
it to the first waiting family for `activity.offer_hours`; here the family accepts it (the seat
is already held for them: it becomes theirs), declines it, or lets it expire, and then the seat
goes to the next family on the list, or is freed when the list is empty.

Each change locks the offered reservation's row first, then (through reservations.move) the
UnitDay row and the waiting list: an acceptance and an expiry running at the same instant are
serialised on the reservation, and whichever comes second finds it no longer « proposée » and
does nothing. Reads for the families' pages are at the end, scoped to the commune and the
account."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import User
from parvis.activities import reservations
from parvis.activities.models import BookingStatus, Reservation

logger = logging.getLogger(__name__)


class OfferUnavailable(Exception):
    """The reservation is not (or no longer) an offered seat: accepted, declined or expired
    meanwhile. The message is said to the family."""

    message = _("Cette place ne vous est plus proposée.")

    def __str__(self):
        return str(self.message)


class OfferExpired(OfferUnavailable):
    """The time to accept the offer has passed (the seat goes to the next family)."""

    message = _("Le délai pour accepter cette place est dépassé : elle est proposée à la suite.")


def _locked_offer(reservation: Reservation) -> Reservation:
    """The offer, re-read under a row lock taken after its seat counter's (a concurrent change
    waits here or has won)."""
    locked = reservations.lock_bookings(
        Reservation.objects.select_related("unit__activity", "commune", "child").filter(
            pk=reservation.pk, status=BookingStatus.PROPOSEE
        )
    )
    if not locked:
        raise OfferUnavailable
    return locked[0]


def _label(reservation: Reservation) -> str:
    return f"{reservation.unit.code} {reservation.day:%d/%m/%Y}"


@transaction.atomic
def accept_offer(
    *, reservation: Reservation, actor: User, now: datetime | None = None
) -> Reservation:
    """« Accepter cette place »: the offer becomes a booking (« réservée », or « en attente
    d'instruction » when the activity waits for an agent). The seat was held since the offer,
    so no count changes. OfferExpired at or after `offer_expires_at`, OfferUnavailable when it
    is no longer an offer."""
    now = now or timezone.now()
    offer = _locked_offer(reservation)
    if offer.offer_expires_at is not None and now >= offer.offer_expires_at:
        raise OfferExpired
    activity = offer.unit.activity
    to = BookingStatus.EN_ATTENTE if activity.needs_instruction else BookingStatus.RESERVEE
    reservations.move(
        [reservations.Move(offer, to, "accepted")],
        actor=actor,
        now=now,
        audit=lambda outcome: [
            dict(
                action="reservation.offer_accepted",
                commune=offer.commune,
                target=offer.child,
                famille_id=offer.famille_id,
                changes={
                    "activity": [None, activity.name],
                    "accepted": [None, _label(offer)],
                    "status": [BookingStatus.PROPOSEE, offer.status],
                },
            )
        ],
    )
    return offer


def _give_up(offer: Reservation, *, action: str, actor: User | None, now: datetime) -> None:
    """The offer is deleted (its history stays in BookingEvent) and the seat passed on."""
    reservations.move(
        [reservations.Move(offer, None, action)],
        actor=actor,
        now=now,
        audit=lambda outcome: [
            dict(
                action=f"reservation.offer_{action}",
                commune=offer.commune,
                target=offer.child,
                famille_id=offer.famille_id,
                changes={
                    "activity": [None, offer.unit.activity.name],
                    action: [None, _label(offer)],
                },
            )
        ],
    )


@transaction.atomic
def decline_offer(*, reservation: Reservation, actor: User, now: datetime | None = None) -> None:
    """« Refuser »: the offer is deleted and the seat offered to the next family, or freed.
    Declining an offer whose time has passed but which has not been expired yet is allowed: the
    outcome is the same. OfferUnavailable when it is no longer an offer."""
    now = now or timezone.now()
    _give_up(_locked_offer(reservation), action="declined", actor=actor, now=now)


def expire_offers(*, now: datetime | None = None) -> int:
    """Every offer whose time has passed, treated as declined (event « expired »), each in its
    own transaction so one failure does not hold back the others. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        Reservation.objects.filter(
            status=BookingStatus.PROPOSEE, offer_expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    count = 0
    for pk in due:
        try:
            with transaction.atomic():
                offers = reservations.lock_bookings(
                    Reservation.objects.select_related("unit__activity", "commune", "child").filter(
                        pk=pk, status=BookingStatus.PROPOSEE, offer_expires_at__lte=now
                    )
                )
                if not offers:  # accepted or declined since the list was read
                    continue
                _give_up(offers[0], action="expired", actor=None, now=now)
        except DatabaseError:
            # One offer that cannot be expired now (a lock timeout, a deadlock broken by the
            # database) does not hold back the others; the next run tries it again.
            logger.exception("Offre %s : expiration reportée", pk)
            continue
        count += 1
    return count
