"""Reminders (« relances ») of overdue invoices, sent by the régie from its guichet: one e-mail
per invoice to the family (what remains due, the invoice's number and due date, the link to
« Mon compte »), an InvoiceReminder row and an audit row each, in one transaction; the e-mails
are queued in it (parvis.mail) and leave once it has committed, to the addresses its invoices go
to. A family without any e-mail is reminded by post: it is listed, not e-mailed, and gets no
reminder row.

An invoice in a payment plan en cours is not reminded: the plan's instalments are
(billing.services_plans.remind_instalments).

An invoice is reminded at most once a day: the invoices are locked while the reminders are
written, so a double click, or two agents at once, send one e-mail, not two."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing.delivery import family_emails, with_contacts
from parvis.billing.links import mon_compte_url
from parvis.billing.models import Invoice, InvoiceReminder, PlanInvoice
from parvis.billing.pricing import money
from parvis.billing.selectors import DUE_STATUSES
from parvis.families.models import Famille
from parvis.mail import queue_email


@dataclass
class RemindersResult:
    sent: list[Invoice] = field(default_factory=list)  # e-mailed now
    by_post: list[Invoice] = field(default_factory=list)  # no e-mail: to remind by post
    already: list[Invoice] = field(default_factory=list)  # already reminded today
    not_due: list[Invoice] = field(default_factory=list)  # paid, cancelled or not overdue
    # In a payment plan en cours: its instalments are reminded instead (services_plans).
    under_plan: list[Invoice] = field(default_factory=list)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _queue(invoice: Invoice, famille: Famille, to: list[str]) -> None:
    commune = invoice.commune
    context = {
        "commune": commune,
        "regie": invoice.regie,
        "invoice": invoice,
        "famille": famille,
        "due": money(invoice.due_amount),
        "total": money(invoice.total),
        "url": mon_compte_url(commune),
    }
    queue_email(
        subject=_("%(commune)s — rappel : facture n° %(number)s à régler")
        % {"commune": commune.name, "number": invoice.number},
        body=render_to_string("billing/emails/relance.txt", context),
        commune_id=commune.pk,
        to=to,
    )


@transaction.atomic
def send_reminders(*, invoices, actor: User, today: date | None = None) -> RemindersResult:
    """Reminds the families of `invoices` (already scoped to the agent's commune by the caller).
    Each invoice is checked again on its locked row: still due, due date passed, not reminded
    yet today."""
    today = today or timezone.localdate()
    ids = sorted({invoice.pk for invoice in invoices})
    result = RemindersResult()
    if not ids:
        return result
    locked = list(
        Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("commune", "regie")
        .order_by("pk")
    )
    under_plan = set(
        PlanInvoice.objects.filter(invoice_id__in=ids, held=True).values_list(
            "invoice_id", flat=True
        )
    )
    reminded_today = set(
        InvoiceReminder.objects.filter(
            invoice_id__in=ids, sent_at__gte=_start_of(today)
        ).values_list("invoice_id", flat=True)
    )
    familles = {
        famille.pk: famille
        for famille in with_contacts(
            Famille.objects.filter(pk__in={invoice.famille_id for invoice in locked})
        )
    }
    for invoice in locked:
        if invoice.status not in DUE_STATUSES or invoice.due_on >= today:
            result.not_due.append(invoice)
            continue
        if invoice.pk in under_plan:
            result.under_plan.append(invoice)
            continue
        if invoice.pk in reminded_today:
            result.already.append(invoice)
            continue
        famille = familles[invoice.famille_id]
        invoice.famille = famille
        emails = family_emails(famille)
        if not emails:
            result.by_post.append(invoice)
            continue
        InvoiceReminder.objects.create(
            commune_id=invoice.commune_id, invoice=invoice, sent_by=actor, email=emails[0]
        )
        audit(
            actor=actor,
            action="facture.relance",
            commune=invoice.commune,
            target=invoice,
            famille_id=invoice.famille_id,
            changes={"email": [None, ", ".join(emails)], "due": [None, invoice.due_amount]},
        )
        _queue(invoice, famille, emails)
        result.sent.append(invoice)
    return result
