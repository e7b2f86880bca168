"""The warning before penalties (run by the scheduler a few days before the monthly run, e.g. on
the 26th, for the current month): each family whose children have, in the month so far, a
situation that a rule in force will bill — a presence without booking, an unjustified absence, a
late pick-up, a late booking — gets one e-mail listing them (child, unit, day, situation and the
amount it will add), saying when the invoice will be made, with a link to contest it through the
procedure « Contester une pénalité » (`contestation-facturation`).

The occurrences and amounts are those the run will bill (`invoicing.penalty_events`, the same
computation). A PenaltyWarning row per régie, family and month makes it once: running the
command again sends nothing twice. The e-mail goes to the family's accounts and its responsables'
addresses; a family without any address gets no warning (and no row, so a later run can still
warn it once it has one)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from parvis.accounts.services import audit
from parvis.billing import invoicing
from parvis.billing.links import mon_compte_url
from parvis.billing.models import PenaltyKind, PenaltyWarning, Regie
from parvis.billing.pricing import money
from parvis.communes.dates import long_date
from parvis.demarches.models import Procedure
from parvis.families.models import Famille
from parvis.mail import absolute_url, queue_email

CONTEST_SLUG = "contestation-facturation"


def recipients(famille_ids: list[int]) -> dict[int, list[str]]:
    """The addresses of each family, as its invoices get them (`delivery.family_emails`): three
    queries for any number of families."""
    from parvis.billing.delivery import family_emails, with_contacts

    familles = with_contacts(Famille.objects.filter(pk__in=famille_ids))
    return {famille.pk: emails for famille in familles if (emails := family_emails(famille))}


def contest_url(commune) -> str:
    """The address of « Contester une pénalité » in the commune, or "" when it does not offer it."""
    if not Procedure.objects.filter(commune=commune, slug=CONTEST_SLUG, is_enabled=True).exists():
        return ""
    return absolute_url(
        reverse("demarches:demarche", kwargs={"commune": commune.slug, "slug": CONTEST_SLUG})
    )


def _item(event: invoicing.PenaltyEvent) -> dict:
    return {
        "child": event.child_name,
        "unit": event.unit_title,
        "day": event.day.isoformat(),
        "kind": event.kind,
        "penalty": str(event.penalty),
        "price": str(event.price),
        "amount": str(event.added),
    }


def send_penalty_warnings(*, regie: Regie, month: date, today: date) -> int:
    """Warn the families of `regie` of the penalties their month (its first day) holds up to
    `today`; returns how many e-mails were sent."""
    month = month.replace(day=1)
    found = invoicing.penalty_events(regie=regie, month=month, until=today)
    if not found:
        return 0
    already = set(
        PenaltyWarning.objects.filter(regie=regie, month=month).values_list("famille_id", flat=True)
    )
    found = [(famille, events) for famille, events in found if famille.pk not in already]
    addresses = recipients([famille.pk for famille, _events in found])
    link = contest_url(regie.commune)
    sent = 0
    for famille, events in found:
        emails = addresses.get(famille.pk)
        if not emails:
            continue
        with transaction.atomic():
            _row, created = PenaltyWarning.objects.get_or_create(
                regie=regie,
                famille=famille,
                month=month,
                defaults={
                    "commune_id": regie.commune_id,
                    "items": [_item(event) for event in events],
                },
            )
            if not created:  # another run sent it meanwhile
                continue
            transaction.on_commit(
                lambda famille=famille, events=events, emails=emails: send_warning(
                    regie=regie,
                    famille=famille,
                    month=month,
                    events=events,
                    emails=emails,
                    contest=link,
                )
            )
        sent += 1
    if sent:
        audit(
            actor=None,
            action="facturation.avertissements",
            commune=regie.commune,
            target=regie,
            changes={"month": [None, month.isoformat()], "sent": [None, sent]},
        )
    return sent


def situation(kind: str) -> str:
    return {
        PenaltyKind.PRESENCE_SANS_RESERVATION: _("présence sans réservation"),
        PenaltyKind.ABSENCE_NON_JUSTIFIEE: _("absence non justifiée"),
        PenaltyKind.RETARD_SOIR: _("retard le soir"),
        PenaltyKind.RESERVATION_TARDIVE: _("réservation tardive"),
    }.get(kind, kind)


def send_warning(
    *,
    regie: Regie,
    famille: Famille,
    month: date,
    events: list[invoicing.PenaltyEvent],
    emails: list[str],
    contest: str,
) -> None:
    """The e-mail of one family: each occurrence with what it will add, their sum, when the
    invoice is made and how to contest."""
    commune = regie.commune
    _first, last = invoicing.month_bounds(month)
    run_day = date.fromordinal(last.toordinal() + 1)
    lines = []
    for event in events:
        values = {
            "day": long_date(event.day, "l j F Y"),
            "child": event.child_name,
            "unit": event.unit_title,
            "situation": situation(event.kind),
            "penalty": money(event.penalty),
            "price": money(event.price),
            "total": money(event.added),
        }
        if event.price:
            text = _(
                "%(day)s — %(child)s — %(unit)s : %(situation)s, %(price)s (la prestation) "
                "+ %(penalty)s (pénalité) = %(total)s"
            )
        else:
            text = _("%(day)s — %(child)s — %(unit)s : %(situation)s, %(penalty)s")
        lines.append(text % values)
    month_text = date_format(month, "F Y")
    queue_email(
        subject=_("%(commune)s — facture de %(month)s : pénalités prévues")
        % {"commune": commune.name, "month": month_text},
        body=render_to_string(
            "billing/emails/avertissement_penalites.txt",
            {
                "commune": commune,
                "regie": regie,
                "famille": famille,
                "month": month_text,
                "run_day": _("1er %(month)s") % {"month": date_format(run_day, "F Y")},
                "lines": lines,
                "total": money(sum((event.added for event in events), invoicing.ZERO)),
                "contest_url": contest,
                "invoices_url": mon_compte_url(commune),
            },
        ),
        commune_id=commune.pk,
        to=emails,
    )
