"""Sending invoices and receipts: the PDF by e-mail to a family that chose paperless invoices
(« Adhésion à la facture en ligne »), otherwise the invoice is marked for printing and posting;
the receipt (« reçu de paiement ») of every payment by e-mail.

E-mails go to the family's responsables' addresses (else to the accounts linked to the family);
for an online payment, also to the account that paid. They are sent after the transaction that
recorded the invoice or the payment has committed (`send_receipt` is called on commit by
billing.services.record_payment): a failed e-mail never undoes a payment — it is logged, and an
invoice not sent keeps `emailed_at` empty so that the next `deliver_run`
(billing.services_delivery) sends it.

Rendering a PDF costs about a tenth of a second, so the PDFs leave from background tasks
(billing.tasks, queued by billing.services_delivery; `manage.py db_worker` in production), never
from the request. This module does the work; it never imports the tasks (which import it)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

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
from parvis.billing.links import mon_compte_url
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
from parvis.mail import absolute_url, send_now

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


# --- Invoices -----------------------------------------------------------------------------------


def _invoices():
    return (
        Invoice.objects.select_related("regie", "commune", "famille")
        .prefetch_related(responsables_prefetch())
        .order_by("number")
    )


def _invoice_message(
    invoice: Invoice, recipients: list[str], *, connection=None, content: bytes | None = None
) -> EmailMessage:
    """« Votre facture n° … » to `recipients`, its PDF attached (`content`, else rendered
    here)."""
    commune = invoice.commune
    context = {
        "commune": commune,
        "regie": invoice.regie,
        "invoice": invoice,
        "total": money(invoice.total),
        "due": money(invoice.due_amount),
        "is_paid": invoice.status == InvoiceStatus.REGLEE,
        "url": mon_compte_url(commune),
    }
    message = EmailMessage(
        subject=_("%(commune)s — Votre facture n° %(number)s")
        % {"commune": commune.name, "number": invoice.number},
        body=render_to_string("billing/emails/facture.txt", context),
        to=recipients,
        connection=connection,
    )
    if content is None:
        content = pdf.invoice_pdf(invoice)
    message.attach(f"facture-{invoice.number}.pdf", content, "application/pdf")
    return message


def send_invoice(*, invoice_id: int) -> bool:
    """E-mails the invoice as a PDF (« facture-7916.pdf ») to the family now, even if it was
    sent before (a copy asked for), and records when (`emailed_at`). False when it could not be
    sent: no such invoice, cancelled, or no e-mail address for the family. A mail error
    propagates."""
    invoice = _invoices().filter(pk=invoice_id).exclude(status=InvoiceStatus.ANNULEE).first()
    recipients = family_emails(invoice.famille) if invoice else []
    if not recipients:
        return False
    send_now(_invoice_message(invoice, recipients))
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
    return True


def _pending(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Paperless invoices not e-mailed yet and not cancelled."""
    return queryset.filter(delivery=Delivery.COURRIEL, emailed_at__isnull=True).exclude(
        status=InvoiceStatus.ANNULEE
    )


def _rendered_together(invoices: list[Invoice]) -> dict[int, bytes]:
    """The task's PDFs (pdf.invoice_pdfs: four queries for the task, not four an invoice).
    If that fails, {}: each invoice is then rendered alone, so that
    one that cannot be rendered does not keep the others from leaving."""
    try:
        return pdf.invoice_pdfs(invoices)
    except Exception:
        logger.warning("Invoices rendered one by one: the batch failed", exc_info=True)
        return {}


def send_invoices(*, invoice_ids: list[int]) -> dict:
    """The work of one background task: e-mails those of `invoice_ids` that are paperless and
    not sent yet; an invoice whose family has no e-mail at all goes to paper (it joins the
    printing batch). Returns {"emailed": n, "to_paper": m, "failed": k}.

    Each invoice's row is locked (SKIP LOCKED) after its PDF is rendered, marked sent
    (`emailed_at`), its message sent, and the transaction committed at once: two workers given
    the same invoice (a run sent twice) never both send it, a worker killed before the relay
    accepted the message leaves it to send (the mark dies with the transaction), and no lock is
    held while rendering. Only a death between the relay's answer and the commit (a round trip
    to the database) can send one twice. A mail error rolls back (the invoice stays to send; it
    is logged and counted in `failed`). One audit row per run touched, by the system."""
    connection = get_connection()
    # One SMTP session for the whole task: a message's send returns as soon as the relay has
    # accepted it (no QUIT after each), so the commit that marks it sent follows at once.
    try:
        connection.open()
    except Exception:  # the relay is down: each send below fails and is counted
        logger.exception("The mail relay could not be reached")
    try:
        return _send_pending(invoice_ids, connection)
    finally:
        connection.close()


def _send_pending(invoice_ids: list[int], connection) -> dict:
    # Counted per (commune, run): one audit row each; a stay's invoice has no run.
    emailed: Counter = Counter()
    failed: Counter = Counter()
    to_paper: dict[tuple, list[int]] = {}
    pending = list(_pending(_invoices().filter(pk__in=invoice_ids)))
    rendered = _rendered_together([i for i in pending if family_emails(i.famille)])
    for invoice in pending:
        key = (invoice.commune, invoice.run_id)
        recipients = family_emails(invoice.famille)
        if not recipients:
            to_paper.setdefault(key, []).append(invoice.pk)
            continue
        try:
            message = _invoice_message(
                invoice, recipients, connection=connection, content=rendered.get(invoice.pk)
            )
        except Exception:  # a PDF that cannot be rendered: logged, the others go on
            logger.exception("Invoice %s could not be rendered", invoice.pk)
            failed[key] += 1
            continue
        try:
            with transaction.atomic():
                # The invoice's row is held while its message leaves, and marked sent in the
                # same transaction: another task skips it meanwhile (never sent twice), and a
                # worker killed before the commit gives it back (the transaction dies with the
                # connection), so « Envoyer » again sends it (never lost).
                if not (
                    _pending(
                        Invoice.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                            pk=invoice.pk
                        )
                    )
                    .values_list("pk", flat=True)
                    .first()
                ):
                    continue  # sent meanwhile, or being sent by another task
                Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
                send_now(message)  # then the commit, at once
        except Exception:  # a mail server error: logged, the invoice stays to send
            logger.exception("Invoice %s could not be e-mailed", invoice.pk)
            failed[key] += 1
            continue
        emailed[key] += 1
    for pks in to_paper.values():
        _pending(Invoice.objects.filter(pk__in=pks)).update(delivery=Delivery.PAPIER)
    keys = set(emailed) | set(failed) | set(to_paper)
    runs = InvoicingRun.objects.in_bulk({run_id for _, run_id in keys if run_id})
    for commune, run_id in sorted(keys, key=lambda key: (key[0].pk, key[1] or 0)):
        key = (commune, run_id)
        audit(
            actor=None,
            action="facturation.envoyee",
            commune=commune,
            target=runs.get(run_id),
            changes={
                "emailed": [None, emailed[key]],
                "to_paper": [None, len(to_paper.get(key, []))],
                "failed": [None, failed[key]],
            },
        )
    return {
        "emailed": sum(emailed.values()),
        "to_paper": sum(len(pks) for pks in to_paper.values()),
        "failed": sum(failed.values()),
    }


@transaction.atomic
def mark_printed(*, invoices: Iterable[Invoice], actor: User | None) -> int:
    """Marks as printed (`printed_at`) those of `invoices` sent on paper, not printed yet and
    not cancelled; returns how many. One audit row per commune concerned (usually one); one
    invoice printed alone is audited on its family's file."""
    ids = [invoice.pk for invoice in invoices]
    if not ids:
        return 0
    rows = (
        Invoice.objects.select_for_update()
        .filter(pk__in=ids, delivery=Delivery.PAPIER, printed_at__isnull=True)
        .exclude(status=InvoiceStatus.ANNULEE)
    )
    by_commune: dict[int, list[tuple[int, int]]] = {}
    for pk, commune_id, famille_id in rows.values_list("pk", "commune_id", "famille_id"):
        by_commune.setdefault(commune_id, []).append((pk, famille_id))
    now = timezone.now()
    count = 0
    for commune_id, printed in by_commune.items():
        pks = [pk for pk, _famille_id in printed]
        count += Invoice.objects.filter(pk__in=pks).update(printed_at=now)
        alone = len(printed) == 1
        audit(
            actor=actor,
            action="factures.imprimees",
            commune=Commune.objects.get(pk=commune_id),
            target=Invoice.objects.get(pk=pks[0]) if alone else None,
            famille_id=printed[0][1] if alone else None,
            changes={"count": [None, len(pks)], "invoices": [None, ", ".join(map(str, pks))]},
        )
    return count


# --- Receipts -----------------------------------------------------------------------------------


# The e-mail of the account that paid online is the payments app's (above billing): it registers
# its lookup here from its AppConfig.ready() (docs/ARCHITECTURE.md: lower apps call higher ones
# only through a registered hook).
_PAYER_EMAIL_LOOKUPS: list[Callable[[Payment], str]] = []


def register_payer_email(lookup: Callable[[Payment], str]) -> None:
    if lookup not in _PAYER_EMAIL_LOOKUPS:
        _PAYER_EMAIL_LOOKUPS.append(lookup)


def _payer_email(payment: Payment) -> str:
    """The e-mail of the account that paid online (the payments' transaction), if any."""
    if not payment.transaction_reference:
        return ""
    for lookup in _PAYER_EMAIL_LOOKUPS:
        email = lookup(payment)
        if email:
            return email
    return ""


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
            "mon_compte_url": mon_compte_url(commune),
        }
        message = EmailMessage(
            subject=_("%(commune)s — Votre reçu de paiement n° %(number)s")
            % {"commune": commune.name, "number": payment.number},
            body=render_to_string("billing/emails/recu.txt", context),
            to=recipients,
        )
        message.attach(f"recu-{payment.number}.pdf", pdf.receipt_pdf(payment), "application/pdf")
        send_now(message)
    except Exception:
        logger.exception("The receipt of payment %s could not be e-mailed", payment_id)
        return False
    return True
