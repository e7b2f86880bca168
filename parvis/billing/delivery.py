"""Sending invoices and receipts: the PDF by e-mail to a family that chose paperless invoices
(« Adhésion à la facture en ligne »), otherwise the invoice is marked for printing and posting;
the receipt (« reçu de paiement ») of every payment by e-mail.

E-mails go to the family's responsables' addresses (else to the accounts linked to the family);
for an online payment, also to the account that paid. They are sent after the transaction that
recorded the invoice or the payment has committed (`send_receipt` is called on commit by
billing.services.record_payment): a failed e-mail never undoes a payment — it is logged, and an
invoice not sent keeps `emailed_at` empty so that the next `deliver_run` sends it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import pdf
from parvis.billing.models import (
    Delivery,
    Invoice,
    InvoiceStatus,
    InvoicingRun,
    Payment,
    PaymentStatus,
)
from parvis.billing.pricing import money
from parvis.billing.selectors_documents import responsables_prefetch
from parvis.communes.models import Commune
from parvis.families.models import Famille, FamilyAccess
from parvis.mail import absolute_url

logger = logging.getLogger(__name__)


def with_contacts(queryset: QuerySet[Famille]) -> QuerySet[Famille]:
    """Families with their responsables (as `responsables`, in the order of
    parvis.families.selectors.first_responsable_email) and their accounts (as
    `account_accesses`): two queries for any number of families."""
    return queryset.prefetch_related(
        responsables_prefetch(prefix=""),
        Prefetch(
            "accesses",
            queryset=FamilyAccess.objects.select_related("user").order_by("pk"),
            to_attr="account_accesses",
        ),
    )


def family_emails(famille: Famille) -> list[str]:
    """Where the family's invoices, receipts and reminders go: its responsables' e-mails, else
    the e-mails of the accounts linked to it; without duplicates, in order. Reads what
    `responsables_prefetch` / `services_relances.with_contacts` prefetched when they did (no
    query per family on a list). Empty: the family gets paper."""
    responsables = getattr(famille, "responsables", None)
    if responsables is None:
        responsables = famille.members.filter(kind="responsable").order_by(
            "birth_date", "first_names", "pk"
        )
    emails = [p.email for p in responsables if p.email]
    if not emails:
        accesses = getattr(famille, "account_accesses", None)
        if accesses is None:
            accesses = FamilyAccess.objects.filter(famille=famille).select_related("user")
        emails = [access.user.email for access in sorted(accesses, key=lambda a: a.pk)]
    return list(dict.fromkeys(email.strip() for email in emails if email and email.strip()))


def _mon_compte_url(commune) -> str:
    return absolute_url(reverse("billing:mon_compte", kwargs={"commune": commune.slug}))


# --- Invoices -----------------------------------------------------------------------------------


def _invoice(invoice_id: int) -> Invoice | None:
    return (
        Invoice.objects.select_related("regie", "commune", "famille")
        .prefetch_related(responsables_prefetch())
        .filter(pk=invoice_id)
        .first()
    )


def _email_invoice(invoice: Invoice, *, connection=None) -> bool:
    """Sends `invoice` (PDF attached) and sets `emailed_at`; False, sending nothing, when the
    family has no e-mail or the invoice is cancelled. A mail error propagates."""
    if invoice.status == InvoiceStatus.ANNULEE:
        return False
    recipients = family_emails(invoice.famille)
    if not recipients:
        return False
    commune = invoice.commune
    context = {
        "commune": commune,
        "regie": invoice.regie,
        "invoice": invoice,
        "total": money(invoice.total),
        "due": money(invoice.due_amount),
        "is_paid": invoice.status == InvoiceStatus.REGLEE,
        "url": _mon_compte_url(commune),
    }
    message = EmailMessage(
        subject=_("%(commune)s — Votre facture n° %(number)s")
        % {"commune": commune.name, "number": invoice.number},
        body=render_to_string("billing/emails/facture.txt", context),
        to=recipients,
        connection=connection,
    )
    message.attach(f"facture-{invoice.number}.pdf", pdf.invoice_pdf(invoice), "application/pdf")
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
    return True


def send_invoice(*, invoice_id: int) -> bool:
    """E-mails the invoice as a PDF (« facture-7916.pdf ») to the family and records when
    (`emailed_at`). False when it could not be sent: no such invoice, cancelled, or no e-mail
    address for the family."""
    invoice = _invoice(invoice_id)
    if invoice is None:
        return False
    return _email_invoice(invoice)


def deliver_run(*, run: InvoicingRun, actor: User | None) -> dict:
    """Sends the run's paperless invoices not sent yet; a family without any e-mail falls back
    to paper (delivery set to « papier »: the invoice joins the printing batch). Returns
    {"emailed": n, "to_print": m, "failed": k}: e-mailed now, paper invoices of the run still
    to print, invoices whose e-mail failed (kept for the next call). Safe to call again: an
    invoice already e-mailed is never sent twice by it. One audit row."""
    emailed = failed = 0
    pending = (
        Invoice.objects.filter(run=run, delivery=Delivery.COURRIEL, emailed_at__isnull=True)
        .exclude(status=InvoiceStatus.ANNULEE)
        .select_related("regie", "commune", "famille")
        .prefetch_related(responsables_prefetch())
        .order_by("number")
    )
    connection = get_connection()
    to_paper = []
    for invoice in pending.iterator(chunk_size=200):
        try:
            sent = _email_invoice(invoice, connection=connection)
        except Exception:  # a mail server error: logged, the invoice stays to send
            logger.exception("Invoice %s could not be e-mailed", invoice.pk)
            failed += 1
            continue
        if sent:
            emailed += 1
        else:
            to_paper.append(invoice.pk)
    if to_paper:
        Invoice.objects.filter(pk__in=to_paper).update(delivery=Delivery.PAPIER)
    to_print = (
        Invoice.objects.filter(run=run, delivery=Delivery.PAPIER, printed_at__isnull=True)
        .exclude(status=InvoiceStatus.ANNULEE)
        .count()
    )
    audit(
        actor=actor,
        action="facturation.envoyee",
        commune=run.commune,
        target=run,
        changes={
            "emailed": [None, emailed],
            "to_paper": [None, len(to_paper)],
            "to_print": [None, to_print],
            "failed": [None, failed],
        },
    )
    return {"emailed": emailed, "to_print": to_print, "failed": failed}


@transaction.atomic
def mark_printed(*, invoices: Iterable[Invoice], actor: User | None) -> int:
    """Marks as printed (`printed_at`) those of `invoices` sent on paper and not printed yet;
    returns how many. One audit row per commune concerned (usually one)."""
    ids = [invoice.pk for invoice in invoices]
    if not ids:
        return 0
    rows = Invoice.objects.select_for_update().filter(
        pk__in=ids, delivery=Delivery.PAPIER, printed_at__isnull=True
    )
    by_commune: dict[int, list[int]] = {}
    for pk, commune_id in rows.values_list("pk", "commune_id"):
        by_commune.setdefault(commune_id, []).append(pk)
    now = timezone.now()
    count = 0
    for commune_id, pks in by_commune.items():
        count += Invoice.objects.filter(pk__in=pks).update(printed_at=now)
        audit(
            actor=actor,
            action="factures.imprimees",
            commune=Commune.objects.get(pk=commune_id),
            changes={"count": [None, len(pks)], "invoices": [None, ", ".join(map(str, pks))]},
        )
    return count


# --- Receipts -----------------------------------------------------------------------------------


def _payer_email(payment: Payment) -> str:
    """The e-mail of the account that paid online (the payments' transaction), if any."""
    if not payment.transaction_reference:
        return ""
    from parvis.payments.models import Transaction

    return (
        Transaction.objects.filter(
            commune_id=payment.commune_id, reference=payment.transaction_reference
        )
        .values_list("user__email", flat=True)
        .first()
        or ""
    )


def send_receipt(*, payment_id: int) -> bool:
    """E-mails « Votre reçu de paiement » with the receipt as a PDF (« recu-12.pdf ») to the
    family (and the account that paid online). Runs once the payment has committed: any error
    is logged and False returned, never raised (the payment stands; the receipt stays in
    « Édition de documents »)."""
    try:
        payment = (
            Payment.objects.select_related("regie", "commune", "famille")
            .prefetch_related(responsables_prefetch())
            .filter(pk=payment_id, status=PaymentStatus.VALIDE)
            .first()
        )
        if payment is None:
            return False
        recipients = family_emails(payment.famille)
        payer = _payer_email(payment)
        if payer and payer not in recipients:
            recipients.insert(0, payer)
        if not recipients:
            return False
        commune = payment.commune
        context = {
            "commune": commune,
            "regie": payment.regie,
            "payment": payment,
            "amount": money(payment.amount),
            "method": payment.get_method_display(),
            "invoices": [
                allocation.invoice for allocation in payment.allocations.select_related("invoice")
            ],
            "url": absolute_url(reverse("billing:documents", kwargs={"commune": commune.slug})),
            "mon_compte_url": _mon_compte_url(commune),
        }
        message = EmailMessage(
            subject=_("%(commune)s — Votre reçu de paiement n° %(number)s")
            % {"commune": commune.name, "number": payment.number},
            body=render_to_string("billing/emails/recu.txt", context),
            to=recipients,
        )
        message.attach(f"recu-{payment.number}.pdf", pdf.receipt_pdf(payment), "application/pdf")
        message.send()
    except Exception:
        logger.exception("The receipt of payment %s could not be e-mailed", payment_id)
        return False
    return True
