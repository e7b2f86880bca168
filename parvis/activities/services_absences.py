"""Writes on absences: a family declares a child absent (« absent aujourd'hui / demain », or a
few days) with or without a certificate, sends the certificate later from the phone, and an
agent decides for the cases the rule does not see (a strike, a school outing, a certificate
given on paper).

Each is one transaction with an audit row; the e-mails leave once it has committed. Whether an
absence is justified is kept on the row (`justified`, `justification`) by the commune's rule
(parvis.activities.absences) or by the agent. The bookings of the days stay: billing needs the
booked-and-absent days, and credits the justified ones."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities import selectors_absences
from parvis.activities.absences import certificate_open_until, days_of, justification
from parvis.activities.models import Absence, AbsenceReason, Inscription, InscriptionStatus
from parvis.activities.rules import format_moment
from parvis.activities.selectors_absences import with_bookings
from parvis.families.models import DocumentStatus, DocumentType, Famille, MemberKind, Personne
from parvis.families.selectors import first_responsable_email
from parvis.families.services_documents import store_document
from parvis.mail import absolute_url, queue_email

MAX_DAYS = 31  # a longer absence is a matter for the service, not a form
MAX_DAYS_AHEAD = 365
COMMENT_MAX_LENGTH = 300
CERTIFICATE = "certificate"  # the key of every refusal of the certificate's file


def _rule(absence: Absence, *, certificate_at: datetime | None) -> tuple[bool, str]:
    commune = absence.commune
    return justification(
        first_day=absence.first_day,
        last_day=absence.last_day,
        reason=absence.reason,
        certificate_at=certificate_at,
        certificate_hours=commune.absence_certificate_hours,
        min_days=commune.absence_min_days,
    )


def open_until(absence: Absence, *, now: datetime | None = None) -> datetime | None:
    """Until when a certificate sent now would still make `absence` justified, else None."""
    if absence.justified:
        return None
    commune = absence.commune
    # A refused certificate counts as none: the family may send another.
    usable = not may_add_certificate(absence)
    return certificate_open_until(
        first_day=absence.first_day,
        last_day=absence.last_day,
        has_certificate=usable,
        certificate_hours=commune.absence_certificate_hours,
        min_days=commune.absence_min_days,
        now=now or timezone.now(),
    )


def may_add_certificate(absence: Absence) -> bool:
    """A family sends a certificate when there is none, or the one sent was refused."""
    return absence.certificate_id is None or absence.certificate.status == DocumentStatus.REFUSE


def check_dates(*, first_day: date, last_day: date, today: date) -> None:
    """The days a family may declare: from today, at most MAX_DAYS of them; ValidationError
    naming the field otherwise."""
    if first_day < today:
        raise ValidationError(
            {
                "first_day": _(
                    "Le %(day)s est passé : une absence se signale le jour même ou à l'avance. "
                    "Pour une absence passée, contactez le service."
                )
                % {"day": first_day.strftime("%d/%m/%Y")}
            }
        )
    if first_day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError({"first_day": _("Une absence se signale au plus un an à l'avance.")})
    if last_day < first_day:
        raise ValidationError(
            {"last_day": _("Le dernier jour d'absence doit être le premier jour ou après.")}
        )
    if days_of(first_day, last_day) > MAX_DAYS:
        raise ValidationError(
            {
                "last_day": _(
                    "Une absence signalée ici dure au plus %(max)d jours : pour une absence "
                    "plus longue, contactez le service."
                )
                % {"max": MAX_DAYS}
            }
        )


def _certificate_service(child: Personne):
    """The service that runs the child's activities (the first accepted inscription's): its
    agents see the certificate among the family's documents."""
    inscription = (
        Inscription.objects.filter(child=child, status=InscriptionStatus.ACCEPTEE)
        .select_related("activity__service")
        .order_by("activity__position", "activity__name", "pk")
        .first()
    )
    return inscription.activity.service if inscription else None


def _store_certificate(*, famille: Famille, child: Personne, upload, actor: User, today: date):
    """The certificate in the family's store, about the child; every refusal keyed CERTIFICATE
    (the file, the size, the quota: all said next to the file field)."""
    try:
        return store_document(
            famille=famille,
            actor=actor,
            upload=upload,
            doc_type=DocumentType.CERTIFICAT_MEDICAL,
            personne=child,
            label=_("Certificat d'absence — %(child)s — %(day)s")
            % {"child": child, "day": today.strftime("%d/%m/%Y")},
            # The date it was received: a medical certificate needs one for its validity.
            document_date=today,
            service=_certificate_service(child),
        )
    except ValidationError as error:
        raise ValidationError({CERTIFICATE: error.messages}) from error


@transaction.atomic
def declare_absence(
    *,
    famille: Famille,
    child: Personne,
    first_day: date,
    last_day: date,
    reason: str,
    comment: str = "",
    certificate_upload=None,
    actor: User,
    now: datetime | None = None,
) -> Absence:
    """« Signaler une absence »: the child absent from `first_day` to `last_day` (from today),
    the certificate (if any) stored and linked, justified or not by the commune's rule. Refused
    (ValidationError keyed by field — child, first_day, last_day, reason, certificate — nothing
    written) for a child of another household (the other household of a shared child may:
    the absence is the child's, declared by and kept with that household), a past day, too
    long a range, an overlap with another absence of the child, or a refused file. The
    acknowledgement is e-mailed to the account on commit."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if child.kind != MemberKind.ENFANT or not (
        child.famille_id == famille.pk or selectors_absences.shares_child(famille, child)
    ):
        raise ValidationError({"child": _("Cet enfant n'est pas de votre foyer.")})
    if reason not in AbsenceReason.values:
        raise ValidationError({"reason": _("Choisissez le motif de l'absence.")})
    check_dates(first_day=first_day, last_day=last_day, today=today)
    # The child's row lock serialises two declarations of the same child (the overlap check).
    Personne.objects.select_for_update().filter(pk=child.pk).first()
    overlap = (
        Absence.objects.filter(child=child, first_day__lte=last_day, last_day__gte=first_day)
        .order_by("first_day")
        .first()
    )
    if overlap is not None:
        raise ValidationError(
            {
                "first_day": _(
                    "Une absence de %(child)s est déjà signalée du %(first)s au %(last)s : "
                    "choisissez d'autres jours, ou ajoutez le certificat à cette absence."
                )
                % {
                    "child": child.first_names,
                    "first": overlap.first_day.strftime("%d/%m/%Y"),
                    "last": overlap.last_day.strftime("%d/%m/%Y"),
                }
            }
        )
    document = None
    if certificate_upload is not None:
        document = _store_certificate(
            famille=famille, child=child, upload=certificate_upload, actor=actor, today=today
        )
    try:
        absence = Absence(
            commune=famille.commune,
            famille=famille,
            child=child,
            first_day=first_day,
            last_day=last_day,
            reason=reason,
            comment=(comment or "").strip()[:COMMENT_MAX_LENGTH],
            certificate=document,
            certificate_at=now if document is not None else None,
            declared_by=actor if actor is not None and actor.pk else None,
        )
        absence.justified, absence.justification = _rule(
            absence, certificate_at=absence.certificate_at
        )
        absence.save()
        changes = {
            "child": [None, str(child)],
            "first_day": [None, first_day.isoformat()],
            "last_day": [None, last_day.isoformat()],
            "reason": [None, reason],
            "certificate": [None, document.pk if document else None],
            "justified": [None, absence.justified],
            "justification": [None, absence.justification],
        }
        if child.famille_id != famille.pk:  # declared by the other household of a shared child
            changes["child_famille"] = [None, child.famille_id]
        audit(
            actor=actor,
            action="absence.declare",
            commune=famille.commune,
            target=absence,
            famille_id=famille.pk,
            changes=changes,
        )
    except BaseException:
        if document is not None:
            document.file.storage.delete(document.file.name)
        raise
    transaction.on_commit(lambda: send_acknowledgement(absence=absence, user=actor, now=now))
    return absence


@transaction.atomic
def add_certificate(*, absence: Absence, upload, actor: User, now: datetime | None = None):
    """A certificate sent later (from the phone): stored, linked, and the rule applied again
    with the time it was received. An absence already justified stays so (by an earlier
    certificate or an agent's decision). Refused (ValidationError keyed CERTIFICATE, nothing
    written) when a certificate is already there and not refused, or the file is refused."""
    now = now or timezone.now()
    absence = (
        Absence.objects.select_for_update(of=("self",))
        .select_related("commune", "famille", "child", "certificate")
        .get(pk=absence.pk)
    )
    if not may_add_certificate(absence):
        raise ValidationError({CERTIFICATE: _("Un certificat est déjà joint à cette absence.")})
    before = (absence.certificate_id, absence.justified, absence.justification)
    document = _store_certificate(
        famille=absence.famille,
        child=absence.child,
        upload=upload,
        actor=actor,
        today=timezone.localdate(now),
    )
    try:
        absence.certificate = document
        absence.certificate_at = now
        justified, why = _rule(absence, certificate_at=now)
        if justified or not absence.justified:
            absence.justified, absence.justification = justified, why
        absence.save(update_fields=["certificate", "certificate_at", "justified", "justification"])
        audit(
            actor=actor,
            action="absence.certificate",
            commune=absence.commune,
            target=absence,
            famille_id=absence.famille_id,
            changes={
                "certificate": [before[0], document.pk],
                "justified": [before[1], absence.justified],
                "justification": [before[2], absence.justification],
            },
        )
    except BaseException:
        document.file.storage.delete(document.file.name)
        raise
    transaction.on_commit(lambda: send_certificate_received(absence=absence, user=actor))
    return absence


@transaction.atomic
def set_justified(*, absence: Absence, justified: bool, reason: str, actor: User) -> Absence:
    """An agent's decision (a strike, a school outing, a certificate given on paper, a
    certificate not readable): the absence justified or not, with the reason the family reads.
    ValidationError keyed `reason` when it is empty. The family is told by e-mail."""
    reason = " ".join((reason or "").split())[:COMMENT_MAX_LENGTH]
    if not reason:
        raise ValidationError(
            {"reason": _("Indiquez la raison de la décision : elle est dite à la famille.")}
        )
    absence = (
        Absence.objects.select_for_update(of=("self",))
        .select_related("commune", "famille", "child", "declared_by")
        .get(pk=absence.pk)
    )
    before = (absence.justified, absence.justification)
    absence.justified = bool(justified)
    absence.justification = reason
    absence.save(update_fields=["justified", "justification"])
    audit(
        actor=actor,
        action="absence.decision",
        commune=absence.commune,
        target=absence,
        famille_id=absence.famille_id,
        changes={
            "justified": [before[0], absence.justified],
            "justification": [before[1], absence.justification],
        },
    )
    transaction.on_commit(lambda: send_decision(absence=absence))
    return absence


# --- E-mails -------------------------------------------------------------------------------------


def _absence_url(absence: Absence) -> str:
    return absolute_url(
        reverse("activities:absence", kwargs={"commune": absence.commune.slug, "pk": absence.pk})
    )


def _context(absence: Absence, **extra) -> dict:
    return {
        "commune": absence.commune,
        "absence": absence,
        "child": absence.child,
        "url": _absence_url(absence),
        **extra,
    }


def send_acknowledgement(*, absence: Absence, user: User, now: datetime) -> None:
    """« Absence signalée »: the days, the bookings concerned, justified or not (why), and
    until when a certificate can still be sent."""
    if user is None or not user.email:
        return
    absence = with_bookings([absence])[0]
    until = open_until(absence, now=now)
    queue_email(
        subject=_("%(commune)s — absence de %(child)s signalée")
        % {"commune": absence.commune.name, "child": absence.child.first_names},
        body=render_to_string(
            "activities/emails/absence_declared.txt",
            _context(absence, until=format_moment(until) if until else ""),
        ),
        commune_id=absence.commune_id,
        to=[user.email],
    )


def send_certificate_received(*, absence: Absence, user: User) -> None:
    if user is None or not user.email:
        return
    queue_email(
        subject=_("%(commune)s — certificat reçu pour l'absence de %(child)s")
        % {"commune": absence.commune.name, "child": absence.child.first_names},
        body=render_to_string("activities/emails/absence_certificate.txt", _context(absence)),
        commune_id=absence.commune_id,
        to=[user.email],
    )


def send_decision(*, absence: Absence) -> None:
    """The agent's decision, to the account that declared the absence (else the household's
    first responsable)."""
    declarant = absence.declared_by
    to = (
        declarant.email if declarant and not declarant.is_staff else ""
    ) or first_responsable_email(absence.famille)
    if not to:
        return
    queue_email(
        subject=_("%(commune)s — absence de %(child)s : décision du service")
        % {"commune": absence.commune.name, "child": absence.child.first_names},
        body=render_to_string("activities/emails/absence_decision.txt", _context(absence)),
        commune_id=absence.commune_id,
        to=[to],
    )
