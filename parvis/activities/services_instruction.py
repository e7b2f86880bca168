"""Agents' writes on activities: accept or refuse (with a reason) pending inscriptions and
bookings, one by one or in bulk, and close a day for everyone. Each in one transaction with an
audit row; e-mails on commit."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities import reservations
from parvis.activities.models import (
    Activity,
    ActivityClosure,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import accept_bookings as accept_bookings  # the domain's write
from parvis.activities.services_inscriptions import REASON_MAX_LENGTH
from parvis.communes.models import Commune
from parvis.demarches import services as demarches_services
from parvis.demarches.models import TRANSITIONS, Demande, Status
from parvis.families.models import FamilyAccess, MemberKind, Personne
from parvis.mail import absolute_url, queue_emails


class AlreadyClosed(Exception):
    """The activity is already closed that day: nothing was written."""


def _pending_inscriptions(*, commune: Commune, ids: list[int], activities) -> list[Inscription]:
    return list(
        # of=self: PostgreSQL locks no row of the nullable side of an outer join (demande).
        Inscription.objects.select_for_update(of=("self",))
        .select_related("child", "activity", "demande")
        .filter(
            commune=commune,
            pk__in=ids,
            activity__in=activities,
            status=InscriptionStatus.EN_ATTENTE,
        )
        .order_by("pk")
    )


def _close_request(*, demande: Demande, to: str, actor: User | None, comment: str) -> bool:
    """Decide the inscription's request (demarches.services.transition: its history, the e-mail
    to the family, the audit row and, through the closing hook, the inscription itself). A
    request waiting for a complement is taken back into instruction first. False when its state
    allows no decision (nothing changed)."""
    if demande.status == Status.COMPLEMENT:
        demande = demarches_services.transition(demande=demande, to=Status.EN_COURS, actor=actor)
    if to not in TRANSITIONS[demande.status]:
        return False
    demarches_services.transition(demande=demande, to=to, actor=actor, comment=comment)
    return True


@transaction.atomic
def accept_inscriptions(*, commune: Commune, actor: User | None, ids: list[int], activities) -> int:
    """Accept the pending inscriptions among `ids` of `activities` (those the agent covers);
    others are left as they are. An inscription the family asked for is accepted through its
    request. Returns how many were accepted."""
    accepted = 0
    now = timezone.now()
    for inscription in _pending_inscriptions(commune=commune, ids=ids, activities=activities):
        if inscription.demande_id is not None:
            comment = _("Inscription de %(child)s à « %(activity)s » acceptée.") % {
                "child": inscription.child.first_names,
                "activity": inscription.activity.name,
            }
            accepted += _close_request(
                demande=inscription.demande, to=Status.ACCEPTEE, actor=actor, comment=comment
            )
            continue
        inscription.status = InscriptionStatus.ACCEPTEE
        inscription.decided_at = now
        inscription.save(update_fields=["status", "decided_at"])
        audit(
            actor=actor,
            action="inscription.accept",
            commune=commune,
            target=inscription,
            famille_id=inscription.famille_id,
            changes={"status": [InscriptionStatus.EN_ATTENTE, InscriptionStatus.ACCEPTEE]},
        )
        accepted += 1
    return accepted


@transaction.atomic
def refuse_inscriptions(
    *, commune: Commune, actor: User | None, ids: list[int], activities, reason: str
) -> int:
    """Refuse the pending inscriptions among `ids` of `activities`, saying why (required): the
    reason goes to the family, by the request's e-mail when the family asked through one, else
    by an e-mail of its own. Returns how many were refused."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a refusal needs a reason")
    refused, notices = 0, defaultdict(list)
    now = timezone.now()
    for inscription in _pending_inscriptions(commune=commune, ids=ids, activities=activities):
        if inscription.demande_id is not None:
            refused += _close_request(
                demande=inscription.demande, to=Status.REFUSEE, actor=actor, comment=reason
            )
            continue
        inscription.status = InscriptionStatus.REFUSEE
        inscription.decided_at = now
        inscription.refusal_reason = reason[:REASON_MAX_LENGTH]
        inscription.save(update_fields=["status", "decided_at", "refusal_reason"])
        audit(
            actor=actor,
            action="inscription.refuse",
            commune=commune,
            target=inscription,
            famille_id=inscription.famille_id,
            changes={
                "status": [InscriptionStatus.EN_ATTENTE, InscriptionStatus.REFUSEE],
                "refusal_reason": ["", inscription.refusal_reason],
            },
        )
        notices[inscription.famille_id].append(
            f"{inscription.child.first_names} {inscription.child.last_name} — "
            f"{inscription.activity.name}"
        )
        refused += 1
    if notices:
        lines = dict(notices)
        transaction.on_commit(
            lambda: _send_refusals(
                commune=commune,
                notices=lines,
                reason=reason,
                template="activities/emails/inscription_refusee.txt",
                subject=_("%(commune)s — demande d'inscription refusée"),
            )
        )
    return refused


@transaction.atomic
def refuse_bookings(
    *,
    commune: Commune,
    actor: User | None,
    ids: list[int],
    activities,
    reason: str,
    now: datetime | None = None,
) -> int:
    """Refuse the bookings « en attente d'instruction » among `ids`, saying why (required): each
    is deleted (its history stays: BookingEvent « refused »), its seat given back through
    reservations.move (so offered to the first of the waiting list), an audit row; the families
    get the reason by e-mail once committed. Returns how many were refused."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a refusal needs a reason")
    now = now or timezone.now()
    rows = reservations.lock_bookings(
        Reservation.objects.select_related("unit", "unit__activity", "child")
        .filter(
            commune=commune,
            pk__in=ids,
            unit__activity__in=activities,
            status=BookingStatus.EN_ATTENTE,
        )
        .order_by("day", "pk")
    )
    notices = defaultdict(list)
    for reservation in rows:
        unit = reservation.unit
        notices[reservation.famille_id].append(
            f"{reservation.day:%d/%m/%Y} — {reservation.child.first_names} "
            f"{reservation.child.last_name} — {unit.activity.name}, {unit.label} ({unit.code})"
        )
    lines = dict(notices)
    reservations.move(
        [reservations.Move(r, None, "refused") for r in rows],
        actor=actor,
        now=now,
        audit=lambda outcome: [
            dict(
                action="reservation.refuse",
                commune=commune,
                target=reservation,
                famille_id=reservation.famille_id,
                changes={"status": [reservation.status, None], "reason": [None, reason]},
            )
            for reservation in outcome.removed
        ],
        notify=(
            lambda outcome: _send_refusals(
                commune=commune,
                notices=lines,
                reason=reason,
                template="activities/emails/reservation_refusee.txt",
                subject=_("%(commune)s — réservation refusée"),
            )
        )
        if lines
        else None,
    )
    return len(rows)


@transaction.atomic
def close_day(
    *, commune: Commune, activity: Activity | None, day: date, reason: str, actor: User | None
) -> ActivityClosure:
    """Close `activity` on `day` for everyone (every activity of the commune when None, as the
    admin allows): the closure, every booking of that day removed (with its history), the seats
    given back, one audit row; the families concerned get an e-mail per activity once the
    transaction is committed. All or nothing. The admin closes through here; the guichet's
    « Fermer » through services_fermeture, a background job made of the same steps."""
    closure, units, opened = open_closure(
        commune=commune, activity=activity, day=day, reason=reason, actor=actor
    )
    if not opened:
        return closure  # closed at the same moment by another click, which removes the bookings
    bookings = lock_day_bookings(units=units, day=day)
    notices = closure_notices(bookings)
    families = {reservation.famille_id for reservation in bookings}
    # Nobody is booked any more that day: every seat is given back, and nobody is offered one
    # (the waiting list goes with the others).
    reservations.move(
        [reservations.Move(r, None, "removed") for r in bookings],
        actor=actor,
        now=timezone.now(),
        audit=lambda outcome: [
            closure_audit(closure, removed=len(bookings), families=len(families))
        ],
        notify=(
            lambda outcome: [
                send_closure_notices(closure=closure, activity=closed, notices=rows)
                for closed, rows in notices.items()
            ]
        )
        if notices
        else None,
    )
    return closure


def open_closure(
    *, commune: Commune, activity: Activity | None, day: date, reason: str, actor: User | None
) -> tuple[ActivityClosure, list[Unit], bool]:
    """Writes the closure of `activity` (all when None) on `day` and locks the seat counters of
    its units that day, in the caller's transaction: a basket waiting on a counter then sees the
    day closed (validate_baskets reads the closures once it holds them). Returns the closure, the
    units closed and whether this call wrote the closure. AlreadyClosed (nothing written) when
    it is closed already; when another transaction closed it meanwhile (two clicks at once: the
    unique constraint makes this one wait for the other's commit), its closure, and False."""
    if activity is not None and activity.commune_id != commune.pk:
        raise ValueError("activity of another commune")
    if closed_already(commune=commune, activity=activity, day=day):
        raise AlreadyClosed
    try:
        with transaction.atomic():
            closure = ActivityClosure.objects.create(
                commune=commune,
                activity=activity,
                day=day,
                reason=reason,
                created_by=actor if actor is not None and actor.pk else None,
            )
    except IntegrityError:
        existing = ActivityClosure.objects.filter(commune=commune, activity=activity, day=day)
        return existing.get(), [], False
    units = Unit.objects.filter(activity__commune=commune).select_related("activity")
    if activity is not None:
        units = units.filter(activity=activity)
    units = list(units)
    # The seat counters first, then the bookings: the order reservations.move keeps.
    reservations.lock_counters((unit.pk, day) for unit in units if unit.seats is not None)
    return closure, units, True


def closed_already(*, commune: Commune, activity: Activity | None, day: date) -> bool:
    return ActivityClosure.objects.filter(commune=commune, activity=activity, day=day).exists()


def lock_day_bookings(*, units, day: date, famille_ids=None) -> list[Reservation]:
    """The bookings of `units` on `day` (of the families `famille_ids` only, when given), locked,
    with what the closure's e-mails say of them. The caller holds their seat counters."""
    bookings = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("unit", "unit__activity", "unit__activity__commune", "child")
        .filter(unit__in=[unit.pk for unit in units], day=day)
        .order_by("famille_id", "pk")
    )
    if famille_ids is not None:
        bookings = bookings.filter(famille_id__in=famille_ids)
    return list(bookings)


def closure_notices(bookings) -> dict[Activity, dict[int, list[Reservation]]]:
    """The closure's e-mails to write: per activity, each family's bookings removed."""
    notices: dict[Activity, dict[int, list[Reservation]]] = defaultdict(lambda: defaultdict(list))
    for reservation in bookings:
        notices[reservation.unit.activity][reservation.famille_id].append(reservation)
    return {activity: dict(rows) for activity, rows in notices.items()}


def closure_audit(closure: ActivityClosure, *, removed: int, families: int) -> dict:
    """The closure's audit row (keyword arguments of accounts.services.audit)."""
    return dict(
        action="activite.fermeture",
        commune=closure.commune,
        target=closure.activity if closure.activity is not None else closure,
        changes={
            "day": [None, closure.day.isoformat()],
            "reason": [None, closure.reason],
            "removed": [None, removed],
            "families": [None, families],
        },
    )


def _recipients(famille_ids) -> dict[int, set[str]]:
    emails: dict[int, set[str]] = defaultdict(set)
    for famille_id, email in FamilyAccess.objects.filter(famille_id__in=famille_ids).values_list(
        "famille_id", "user__email"
    ):
        if email:
            emails[famille_id].add(email)
    for famille_id, email in Personne.objects.filter(
        famille_id__in=famille_ids, kind=MemberKind.RESPONSABLE
    ).values_list("famille_id", "email"):
        if email:
            emails[famille_id].add(email)
    return emails


def send_closure_notices(*, closure, activity, notices) -> set[int]:
    """One e-mail per family told, queued together (queue_emails: a constant number of queries
    whatever the number of families). Returns the families without any address (not told)."""
    commune = activity.commune
    emails = _recipients(notices.keys())
    subject = _("%(commune)s — %(activity)s fermé le %(day)s") % {
        "commune": commune.name,
        "activity": activity.name,
        "day": closure.day.strftime("%d/%m/%Y"),
    }
    queue_emails(
        [
            dict(
                subject=subject,
                body=render_to_string(
                    "activities/emails/fermeture.txt",
                    {
                        "commune": commune,
                        "activity": activity,
                        "closure": closure,
                        "rows": rows,
                        "url": absolute_url(f"/{commune.slug}/mon-espace/"),
                        "tz": PARIS,
                    },
                ),
                commune_id=commune.pk,
                to=sorted(emails[famille_id]),
            )
            for famille_id, rows in notices.items()
            if emails.get(famille_id)
        ]
    )
    return {famille_id for famille_id in notices if not emails.get(famille_id)}


def _send_refusals(*, commune, notices: dict[int, list[str]], reason: str, template, subject):
    """One e-mail per family: what was refused, and why (queued together)."""
    emails = _recipients(notices.keys())
    queue_emails(
        [
            dict(
                subject=subject % {"commune": commune.name},
                body=render_to_string(
                    template,
                    {
                        "commune": commune,
                        "lines": lines,
                        "reason": reason,
                        "url": absolute_url(f"/{commune.slug}/mon-espace/activites/"),
                    },
                ),
                commune_id=commune.pk,
                to=sorted(emails[famille_id]),
            )
            for famille_id, lines in notices.items()
            if emails.get(famille_id)
        ]
    )
