"""Writes on bookings: a family's basket validated in one transaction (every added day checked
against the rules, seats taken under a row lock, beyond capacity the waiting list), cancellations
within the deadline, and the waiting list's offers when a seat frees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities.calendar import closed_reason, is_working_day
from parvis.activities.models import (
    Activity,
    ActivityClosure,
    BookingEvent,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
    UnitDay,
)
from parvis.activities.rules import PARIS, format_moment, is_open_at, moment
from parvis.families.models import Famille, FamilyAccess, Personne
from parvis.mail import absolute_url

SEAT_HOLDING = (BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE, BookingStatus.PROPOSEE)


class BasketRefused(Exception):
    """Some changes of a basket break a rule: nothing was saved. `problems` maps (unit id, day)
    to the reason, in French."""

    def __init__(self, problems: dict):
        super().__init__(problems)
        self.problems = problems


@dataclass
class BasketResult:
    added: list[Reservation] = field(default_factory=list)  # booked or pending
    waiting: list[Reservation] = field(default_factory=list)  # waiting list, with rank
    removed: list[tuple[Unit, date]] = field(default_factory=list)
    ranks: dict[int, int] = field(default_factory=dict)  # reservation id → waiting rank


def closures_of(activity: Activity, start: date, end: date) -> dict[date, str]:
    """The days agents closed for this activity or for all, between `start` and `end`."""
    rows = ActivityClosure.objects.filter(
        Q(activity=activity) | Q(activity__isnull=True),
        commune_id=activity.commune_id,
        day__range=(start, end),
    )
    return {row.day: row.reason for row in rows}


def why_not_bookable(
    *,
    activity: Activity,
    unit: Unit,
    day: date,
    now: datetime,
    closures: dict[date, str],
    registered: bool,
    file_complete: bool = True,
) -> str | None:
    """None when `day` of `unit` can be booked at `now`, else why not (said next to the day)."""
    if not registered:
        return _("enfant non inscrit à cette activité")
    closed = closed_reason(
        day,
        zone=activity.commune.holiday_zone or "C",
        weekdays=unit.weekdays,
        during=activity.runs,
        start=activity.start,
        end=activity.end,
        closures=closures,
    )
    if closed is not None:
        return _("pas d'accueil : %(reason)s") % {"reason": closed.reason}
    if activity.requires_complete_file and not file_complete:
        return _("dossier administratif incomplet")
    if activity.booking_opens is not None:
        opens = moment(
            activity.booking_opens, day, starts_at=unit.starts_at, is_working_day=is_working_day
        )
        if now < opens:
            return _("réservations ouvertes à partir du %(moment)s") % {
                "moment": format_moment(opens)
            }
    deadline = moment(
        activity.booking_deadline, day, starts_at=unit.starts_at, is_working_day=is_working_day
    )
    if not is_open_at(now, deadline):
        return _("date limite dépassée (%(moment)s)") % {"moment": format_moment(deadline)}
    return None


def why_not_cancellable(*, activity: Activity, unit: Unit, day: date, now: datetime) -> str | None:
    deadline = moment(
        activity.cancel_deadline, day, starts_at=unit.starts_at, is_working_day=is_working_day
    )
    if not is_open_at(now, deadline):
        return _("date limite d'annulation dépassée (%(moment)s)") % {
            "moment": format_moment(deadline)
        }
    return None


def ensure_seat_counters(pairs) -> None:
    """Creates the missing seat counters of (unit id, day) `pairs`, each at the seats its
    bookings already hold: bookings made before the unit had a capacity count, so a counter
    never starts below the truth (nor oversells the last seat). A counter that exists is left
    as it is. Two queries, three when some are missing."""
    pairs = set(pairs)
    if not pairs:
        return
    existing = set(UnitDay.objects.filter(_pairs_q(pairs)).values_list("unit_id", "day"))
    missing = pairs - existing
    if not missing:
        return
    held = {
        (unit_id, day): count
        for unit_id, day, count in Reservation.objects.filter(
            _pairs_q(missing), status__in=SEAT_HOLDING
        )
        .values("unit_id", "day")
        .annotate(count=Count("pk"))
        .values_list("unit_id", "day", "count")
    }
    UnitDay.objects.bulk_create(
        [UnitDay(unit_id=u, day=d, taken=held.get((u, d), 0)) for u, d in sorted(missing)],
        ignore_conflicts=True,
    )


def _pairs_q(pairs) -> Q:
    wanted = Q()
    for unit_id, day in pairs:
        wanted |= Q(unit_id=unit_id, day=day)
    return wanted


def _take_seat(unit: Unit, day: date) -> bool:
    """Take a seat of `unit` on `day` if one is left. The UnitDay row is locked for the rest of
    the transaction: concurrent baskets wait here, so the count can never pass the seats."""
    if unit.seats is None:
        return True
    ensure_seat_counters([(unit.pk, day)])
    row = UnitDay.objects.select_for_update().get(unit=unit, day=day)
    if row.taken >= unit.seats:
        return False
    row.taken += 1
    row.save(update_fields=["taken"])
    return True


def free_seat(unit: Unit, day: date, *, actor, now: datetime) -> None:
    """A seat was given back: offered to the first of the waiting list, else freed. Once the
    unit has started that day, nobody is offered a seat any more: it is just freed; so is a seat
    above a capacity lowered since it was taken (it is no seat any more)."""
    if unit.seats is None:
        return
    # No counter yet when the capacity was set after the bookings: the bookings left (the
    # given-back one already gone) plus the seat being given back.
    held = Reservation.objects.filter(unit=unit, day=day, status__in=SEAT_HOLDING).count()
    UnitDay.objects.get_or_create(unit=unit, day=day, defaults={"taken": held + 1})
    row = UnitDay.objects.select_for_update().get(unit=unit, day=day)
    started = now >= datetime.combine(day, unit.starts_at, tzinfo=PARIS)
    first = (
        None
        if started or row.taken > unit.seats
        else Reservation.objects.select_for_update()
        .filter(unit=unit, day=day, status=BookingStatus.LISTE_ATTENTE)
        .order_by("queued_at", "pk")
        .first()
    )
    if first is None:
        row.taken = max(0, row.taken - 1)
        row.save(update_fields=["taken"])
        return
    first.status = BookingStatus.PROPOSEE
    first.offer_expires_at = now + timedelta(hours=unit.activity.offer_hours)
    first.save(update_fields=["status", "offer_expires_at"])
    _event(first, "offered", actor=actor)
    transaction.on_commit(lambda: send_offer(reservation=first))


@transaction.atomic
def offer_new_seats(*, unit: Unit, actor: User | None, now: datetime | None = None) -> int:
    """The unit got more seats (capacity or planned overbooking raised, or its limit removed):
    on each day still to come with a waiting list, the seats now free go to the first waiting
    families as offers, exactly as a seat given back does (free_seat). A family that joined the
    list in time gets its offer whatever the booking deadline says now; a day whose unit has
    started offers nothing. Constant queries whatever the number of days: the counters, then the
    waiting list, read and locked once, written in bulk. Returns the number of offers."""
    now = now or timezone.now()
    queued = Reservation.objects.filter(
        unit=unit, day__gte=now.astimezone(PARIS).date(), status=BookingStatus.LISTE_ATTENTE
    )
    days = {
        day
        for day in queued.values_list("day", flat=True).distinct()
        if now < datetime.combine(day, unit.starts_at, tzinfo=PARIS)
    }
    if not days:
        return 0
    # The seat counters are locked before the waiting list, as the baskets and free_seat do:
    # the other way round, a seat given back at the same instant deadlocks (PostgreSQL).
    counters = {}
    if unit.seats is not None:
        ensure_seat_counters((unit.pk, day) for day in days)
        counters = {
            row.day: row
            for row in UnitDay.objects.select_for_update()
            .filter(unit=unit, day__in=days)
            .order_by("day")
        }
    waiting = list(
        queued.select_for_update().filter(day__in=days).order_by("day", "queued_at", "pk")
    )
    offers = []
    for reservation in waiting:
        counter = counters.get(reservation.day)
        if counter is not None:
            if counter.taken >= unit.seats:
                continue
            counter.taken += 1
        reservation.status = BookingStatus.PROPOSEE
        reservation.offer_expires_at = now + timedelta(hours=unit.activity.offer_hours)
        offers.append(reservation)
    if not offers:
        return 0
    Reservation.objects.bulk_update(offers, ["status", "offer_expires_at"])
    UnitDay.objects.bulk_update(counters.values(), ["taken"])
    BookingEvent.objects.bulk_create(
        BookingEvent(
            famille_id=r.famille_id,
            child_id=r.child_id,
            unit_id=r.unit_id,
            day=r.day,
            action="offered",
            status=r.status,
            actor=actor if actor is not None and actor.pk else None,
        )
        for r in offers
    )
    audit(
        actor=actor,
        action="activite.places_proposees",
        commune=unit.commune,
        target=unit,
        changes={"offres": [None, len(offers)], "seats": [None, unit.seats]},
    )
    for reservation in offers:
        transaction.on_commit(lambda r=reservation: send_offer(reservation=r))
    return len(offers)


def _event(reservation: Reservation, action: str, *, actor) -> None:
    BookingEvent.objects.create(
        famille_id=reservation.famille_id,
        child_id=reservation.child_id,
        unit_id=reservation.unit_id,
        day=reservation.day,
        action=action,
        status=reservation.status,
        actor=actor if actor is not None and actor.pk else None,
    )


def waiting_rank(reservation: Reservation) -> int:
    return (
        Reservation.objects.filter(
            unit_id=reservation.unit_id,
            day=reservation.day,
            status=BookingStatus.LISTE_ATTENTE,
            queued_at__lte=reservation.queued_at,
        )
        .exclude(queued_at=reservation.queued_at, pk__gt=reservation.pk)
        .count()
    )


@transaction.atomic
def validate_basket(
    *,
    famille: Famille,
    child: Personne,
    activity: Activity,
    add: list[tuple[Unit, date]],
    remove: list[tuple[Unit, date]],
    actor: User,
    now: datetime | None = None,
    file_complete: bool = True,
) -> BasketResult:
    """« Valider »: every change of the basket is checked, then all are saved, or none (any
    rule broken → BasketRefused with every problem, nothing written)."""
    now = now or timezone.now()
    if child.famille_id != famille.pk or activity.commune_id != famille.commune_id:
        raise BasketRefused({None: _("Cet enfant n'est pas de votre foyer.")})
    registered = Inscription.objects.filter(
        child=child, activity=activity, status=InscriptionStatus.ACCEPTEE
    ).exists()
    days = [day for _unit, day in add + remove]
    closures = closures_of(activity, min(days), max(days)) if days else {}
    existing = {
        (r.unit_id, r.day): r
        for r in Reservation.objects.select_for_update().filter(
            child=child, unit__activity=activity, day__in=days
        )
    }
    problems = {}
    for unit, day in add:
        if unit.activity_id != activity.pk:
            problems[(unit.pk, day)] = _("unité d'une autre activité")
            continue
        if (unit.pk, day) in existing:
            continue  # already booked or waiting: nothing to add
        reason = why_not_bookable(
            activity=activity, unit=unit, day=day, now=now, closures=closures,
            registered=registered, file_complete=file_complete,
        )  # fmt: skip
        if reason:
            problems[(unit.pk, day)] = reason
    for unit, day in remove:
        if (unit.pk, day) not in existing:
            continue
        reason = why_not_cancellable(activity=activity, unit=unit, day=day, now=now)
        if reason:
            problems[(unit.pk, day)] = reason
    if problems:
        raise BasketRefused(problems)

    # Counters first, before any booking goes: a seat given back then finds the right count.
    ensure_seat_counters((u.pk, d) for u, d in [*add, *remove] if u.seats is not None)
    result = BasketResult()
    for unit, day in remove:
        reservation = existing.get((unit.pk, day))
        if reservation is None:
            continue
        held = reservation.status in SEAT_HOLDING
        _event(reservation, "removed", actor=actor)
        reservation.delete()
        if held:
            free_seat(unit, day, actor=actor, now=now)
        result.removed.append((unit, day))
    for unit, day in sorted(add, key=lambda change: (change[1], change[0].position)):
        if (unit.pk, day) in existing:
            continue
        status = BookingStatus.EN_ATTENTE if activity.needs_instruction else BookingStatus.RESERVEE
        if not _take_seat(unit, day):
            status = BookingStatus.LISTE_ATTENTE
        reservation = Reservation.objects.create(
            commune_id=famille.commune_id, famille=famille, child=child, unit=unit, day=day,
            status=status,
        )  # fmt: skip
        _event(reservation, "added", actor=actor)
        if status == BookingStatus.LISTE_ATTENTE:
            result.waiting.append(reservation)
            result.ranks[reservation.pk] = waiting_rank(reservation)
        else:
            result.added.append(reservation)
    audit(
        actor=actor,
        action="reservation.basket",
        commune=famille.commune,
        target=child,
        famille_id=famille.pk,
        changes={
            "activity": [None, activity.name],
            "added": [None, [f"{r.unit.code} {r.day:%d/%m/%Y}" for r in result.added]],
            "waiting": [None, [f"{r.unit.code} {r.day:%d/%m/%Y}" for r in result.waiting]],
            "removed": [None, [f"{u.code} {d:%d/%m/%Y}" for u, d in result.removed]],
        },
    )
    return result


def send_offer(*, reservation: Reservation) -> None:
    """The e-mail telling the first waiting family that a seat is theirs until the offer ends."""
    recipients = sorted(
        {
            email
            for email in FamilyAccess.objects.filter(famille_id=reservation.famille_id).values_list(
                "user__email", flat=True
            )
            if email
        }
    )
    if not recipients:
        return
    unit, commune = reservation.unit, reservation.commune
    send_mail(
        subject=_("%(commune)s — une place s'est libérée") % {"commune": commune.name},
        message=render_to_string(
            "activities/emails/offer.txt",
            {
                "commune": commune,
                "reservation": reservation,
                "activity": unit.activity,
                "unit": unit,
                "expires": format_moment(reservation.offer_expires_at),
                "url": absolute_url(
                    reverse("activities:offre", args=[commune.slug, reservation.pk])
                ),
            },
        ),
        from_email=None,
        recipient_list=recipients,
    )


# --- The families' basket from their pages: « Valider », then the summary by e-mail ------------


def validate_basket_and_notify(
    *,
    famille: Famille,
    child: Personne,
    activity: Activity,
    add: list[tuple[Unit, date]],
    remove: list[tuple[Unit, date]],
    actor: User,
    now: datetime | None = None,
    file_complete: bool = True,
) -> BasketResult:
    """« Valider » from the calendar: validate_basket in one transaction, then (on commit) the
    summary e-mailed to the account that validated. BasketRefused as validate_basket."""
    with transaction.atomic():
        result = validate_basket(
            famille=famille, child=child, activity=activity, add=add, remove=remove,
            actor=actor, now=now, file_complete=file_complete,
        )  # fmt: skip
        if result.added or result.waiting or result.removed:
            transaction.on_commit(
                lambda: send_basket_summary(
                    user=actor, child=child, activity=activity, result=result
                )
            )
    return result


def send_basket_summary(
    *, user: User, child: Personne, activity: Activity, result: BasketResult
) -> None:
    """The e-mail of what « Valider » saved: days added, on the waiting list (with the rank),
    and cancelled."""
    send_baskets_summary(user=user, commune=activity.commune, baskets=[(child, activity, result)])


def send_baskets_summary(*, user: User, commune, baskets: list) -> None:
    """The one e-mail of a « Valider » that saved several baskets at once (the household grid):
    `baskets` are (child, activity, BasketResult), each said as send_basket_summary says one."""
    if not user.email:
        return
    send_mail(
        subject=_("%(commune)s — vos réservations sont enregistrées") % {"commune": commune.name},
        message=render_to_string(
            "activities/emails/basket.txt",
            {
                "commune": commune,
                "baskets": [
                    {
                        "child": child,
                        "activity": activity,
                        "added": result.added,
                        "waiting": [(r, result.ranks.get(r.pk)) for r in result.waiting],
                        "removed": result.removed,
                    }
                    for child, activity, result in baskets
                ],
                "url": absolute_url(f"/{commune.slug}/mon-espace/activites/"),
            },
        ),
        from_email=None,
        recipient_list=[user.email],
    )
