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
from django.utils.translation import gettext_lazy, ngettext

from parvis.accounts.models import User
from parvis.accounts.services import audit_many
from parvis.accounts.services_jobs import start_job
from parvis.background import jobs
from parvis.background.models import Job
from parvis.billing.delivery import family_emails, with_contacts
from parvis.billing.links import mon_compte_url
from parvis.billing.models import Invoice, InvoiceReminder, PlanInvoice
from parvis.billing.pricing import money
from parvis.billing.selectors import DUE_STATUSES
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.mail import queue_emails


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


def _email(invoice: Invoice, famille: Famille, to: list[str]) -> dict:
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
    return dict(
        subject=_("%(commune)s — rappel : facture n° %(number)s à régler")
        % {"commune": commune.name, "number": invoice.number},
        body=render_to_string("billing/emails/relance.txt", context),
        commune_id=commune.pk,
        to=to,
    )


@transaction.atomic
def send_reminders(*, invoices, actor: User | None, today: date | None = None) -> RemindersResult:
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
    reminders, audits, emails_out = [], [], []
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
        reminders.append(
            InvoiceReminder(
                commune_id=invoice.commune_id,
                invoice=invoice,
                sent_by=actor if actor is not None and actor.pk else None,
                email=emails[0],
            )
        )
        audits.append(
            dict(
                action="facture.relance",
                commune=invoice.commune,
                target=invoice,
                famille_id=invoice.famille_id,
                changes={"email": [None, ", ".join(emails)], "due": [None, invoice.due_amount]},
            )
        )
        emails_out.append(_email(invoice, famille, emails))
        result.sent.append(invoice)
    # The writes in a few statements whatever the number of invoices (a reminder job's batch).
    InvoiceReminder.objects.bulk_create(reminders)
    audit_many(actor=actor, rows=audits)
    queue_emails(emails_out)
    return result


# --- As a background job, from the guichet ------------------------------------------------------

KIND = "billing.relances"


@transaction.atomic
def start_reminders(*, commune: Commune, invoices, actor: User, return_url: str = "") -> Job:
    """« Envoyer une relance » for any number of ticked invoices (already scoped to the agent's
    commune and to its overdue list by the caller): a background job reminds them batch by batch
    (`send_reminders`, each batch checked again on its locked rows), its page follows it."""
    ids = sorted({invoice.pk for invoice in invoices})
    return start_job(commune=commune, actor=actor, kind=KIND, items=ids, return_url=return_url)


def run_batch(job: Job, ids: list[int]) -> dict:
    actor = User.objects.filter(pk=job.actor_id).first() if job.actor_id else None
    result = send_reminders(
        invoices=Invoice.objects.filter(commune_id=job.commune_id, pk__in=ids).only("pk"),
        actor=actor,
    )
    return {
        "sent": len(result.sent),
        "by_post": [invoice.pk for invoice in result.by_post],
        "already": [invoice.pk for invoice in result.already],
        "not_due": [invoice.pk for invoice in result.not_due],
        "under_plan": [invoice.pk for invoice in result.under_plan],
    }


def summary(job: Job) -> list[str]:
    """What the reminders' job did so far, in the reader's language (one query)."""
    lists = {
        key: job.result.get(key, []) for key in ("by_post", "already", "not_due", "under_plan")
    }
    named = {
        invoice.pk: _("n° %(number)s (%(famille)s)")
        % {"number": invoice.number, "famille": invoice.famille.name}
        for invoice in Invoice.objects.filter(
            commune_id=job.commune_id, pk__in=[pk for pks in lists.values() for pk in pks]
        ).select_related("famille")
    }

    def numbers(key):
        return ", ".join(named[pk] for pk in lists[key] if pk in named)

    sent = job.result.get("sent", 0)
    lines = []
    if sent or not any(lists.values()):
        lines.append(
            ngettext(
                "%(count)d relance envoyée par courriel.",
                "%(count)d relances envoyées par courriel.",
                sent,
            )
            % {"count": sent}
        )
    if lists["by_post"]:
        lines.append(
            ngettext(
                "Sans adresse électronique, à relancer par courrier : %(invoices)s.",
                "Sans adresse électronique, à relancer par courrier : %(invoices)s.",
                len(lists["by_post"]),
            )
            % {"invoices": numbers("by_post")}
        )
    if lists["already"]:
        lines.append(
            _("Déjà relancées aujourd'hui, pas de nouveau courriel : %(invoices)s.")
            % {"invoices": numbers("already")}
        )
    if lists["not_due"]:
        lines.append(
            _("Plus en retard (réglées ou annulées entre-temps) : %(invoices)s.")
            % {"invoices": numbers("not_due")}
        )
    if lists["under_plan"]:
        lines.append(
            _("Dans un échéancier en cours, ses échéances sont relancées à part : %(invoices)s.")
            % {"invoices": numbers("under_plan")}
        )
    return lines


JOB_KIND = jobs.JobKind(
    label=gettext_lazy("Relances des factures en retard"), run_batch=run_batch, summary=summary
)
