"""Writes on invoices and payments that every part of billing shares: gap-free numbers, the
creation of an invoice with its lines, the invoice's status machine, and payments (recorded,
cancelled) with the invoices' `paid` kept under their row locks.

Each function is one transaction with an audit row; e-mails and PDFs leave once it has
committed (`parvis.billing.delivery`). Callers never pass an amount read from a browser: the
amounts here are the invoices' own (what remains due) or an agent's entry checked against them."""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import plans
from parvis.billing.models import (
    DUE_STATUSES,
    INVOICE_TRANSITIONS,
    Delivery,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceStatusChange,
    InvoicingRun,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    Regie,
    Sequence,
    SequenceKind,
)
from parvis.billing.pricing import money
from parvis.families import selectors as family_selectors
from parvis.families.models import Famille
from parvis.money import CENT, ZERO
from parvis.tasks import enqueue_on_commit

# --- Numbers -----------------------------------------------------------------------------------


def lock_sequence(*, regie: Regie, kind: str) -> Sequence:
    """The régie's sequence row of `kind`, locked (SELECT … FOR UPDATE) until the calling
    transaction ends: `next_number` takes one number from it, the invoicing run
    (`services_runs`) a consecutive block for a whole chunk of families."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a number is taken inside the transaction that uses it")
    Sequence.objects.get_or_create(commune_id=regie.commune_id, regie=regie, kind=kind)
    return Sequence.objects.select_for_update().get(regie=regie, kind=kind)


def next_number(*, regie: Regie, kind: str) -> int:
    """The régie's next invoice or receipt number. Call it inside the transaction that saves the
    numbered row: the sequence row stays locked until that transaction ends, and a rollback gives
    the number back, so numbers have no gaps."""
    sequence = lock_sequence(regie=regie, kind=kind)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


# --- Invoices ----------------------------------------------------------------------------------


@dataclass
class LineData:
    """An invoice line before it is saved (the invoicing run and single invoices build these)."""

    kind: str
    label: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    child_id: int | None = None
    child_name: str = ""
    unit_id: int | None = None
    price_label: str = ""
    explanation: str = ""
    days: list[str] = field(default_factory=list)
    childcare: bool = False


def _status_for(invoice: Invoice) -> str:
    if invoice.status == InvoiceStatus.ANNULEE:
        return InvoiceStatus.ANNULEE
    if invoice.paid >= invoice.total:
        return InvoiceStatus.REGLEE
    if invoice.paid > 0:
        return InvoiceStatus.PARTIELLEMENT_REGLEE
    return InvoiceStatus.A_REGLER


def _move(invoice: Invoice, to: str, *, actor: User | None, reason: str = "") -> None:
    """Moves a locked invoice to `to` along INVOICE_TRANSITIONS, with its history row."""
    if to == invoice.status:
        return
    if to not in INVOICE_TRANSITIONS[invoice.status]:
        raise ValidationError(
            _("Une facture « %(from)s » ne peut pas passer à « %(to)s ».")
            % {
                "from": InvoiceStatus(invoice.status).label,
                "to": InvoiceStatus(to).label,
            }
        )
    InvoiceStatusChange.objects.create(
        invoice=invoice, from_status=invoice.status, to_status=to, actor=actor, reason=reason
    )
    invoice.status = to


def delivery_for(famille: Famille) -> str:
    return Delivery.COURRIEL if famille.paperless_invoice else Delivery.PAPIER


def line_rows(invoice: Invoice, lines: Seq[LineData]) -> list[InvoiceLine]:
    """The unsaved InvoiceLine rows of `lines`, in their order (for a bulk_create)."""
    return [
        InvoiceLine(
            commune_id=invoice.commune_id,
            invoice=invoice,
            position=position,
            kind=line.kind,
            child_id=line.child_id,
            child_name=line.child_name,
            unit_id=line.unit_id,
            label=line.label,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            price_label=line.price_label,
            explanation=line.explanation,
            days=line.days,
            childcare=line.childcare,
        )
        for position, line in enumerate(lines)
    ]


@transaction.atomic
def create_invoice(
    *,
    regie: Regie,
    famille: Famille,
    kind: str,
    label: str,
    period_start: date,
    period_end: date,
    lines: Seq[LineData],
    issued_on: date,
    due_on: date,
    actor: User | None,
    month: date | None = None,
    category: str = "",
    run: InvoicingRun | None = None,
) -> Invoice:
    """Numbers and saves an invoice and its lines; the total is the sum of the lines (each
    already rounded). Delivery (e-mail or printing) is a separate step, `delivery`."""
    if famille.commune_id != regie.commune_id:
        raise ValidationError(_("Cette famille appartient à une autre commune."))
    if not lines:
        raise ValidationError(_("Une facture a au moins une ligne."))
    total = sum((line.amount for line in lines), ZERO)
    if total < 0:
        raise ValidationError(_("Le total d'une facture n'est pas négatif."))
    invoice = Invoice.objects.create(
        commune_id=regie.commune_id,
        regie=regie,
        famille=famille,
        run=run,
        kind=kind,
        number=next_number(regie=regie, kind=SequenceKind.FACTURE),
        month=month,
        category=category,
        label=label,
        period_start=period_start,
        period_end=period_end,
        issued_on=issued_on,
        due_on=due_on,
        total=total,
        status=InvoiceStatus.REGLEE if total == 0 else InvoiceStatus.A_REGLER,
        delivery=delivery_for(famille),
    )
    InvoiceLine.objects.bulk_create(line_rows(invoice, lines))
    InvoiceStatusChange.objects.create(
        invoice=invoice, from_status="", to_status=invoice.status, actor=actor
    )
    audit(
        actor=actor,
        action="facture.emise",
        commune=regie.commune,
        target=invoice,
        famille_id=famille.pk,
        changes={"total": [None, total]},
    )
    return invoice


@transaction.atomic
def cancel_invoice(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """An agent cancels an invoice that nothing has been paid on (a payment is cancelled first)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif de l'annulation.")})
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if invoice.paid > 0:
        raise ValidationError(
            _("Cette facture a des paiements : annulez-les avant d'annuler la facture.")
        )
    if invoice.plan_links.filter(held=True).exists():
        raise ValidationError(
            _(
                "Cette facture fait partie d'un échéancier en cours : mettez fin à "
                "l'échéancier avant d'annuler la facture."
            )
        )
    before = invoice.status
    _move(invoice, InvoiceStatus.ANNULEE, actor=actor, reason=reason)
    invoice.save(update_fields=["status"])
    audit(
        actor=actor,
        action="facture.annulee",
        commune=invoice.commune,
        target=invoice,
        famille_id=invoice.famille_id,
        changes={"status": [before, invoice.status], "reason": [None, reason]},
    )
    return invoice


# --- Payments ----------------------------------------------------------------------------------


def _lock_invoices(ids: Seq[int]) -> dict[int, Invoice]:
    # A fixed order (by pk) so two payments on the same invoices cannot deadlock.
    rows = Invoice.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {invoice.pk: invoice for invoice in rows}


@transaction.atomic
def record_payment(
    *,
    regie: Regie,
    famille: Famille,
    allocations: Seq[tuple[Invoice, Decimal]],
    method: str,
    received_on: date,
    actor: User | None,
    reference: str = "",
    transaction_reference: str | None = None,
    send_receipt: bool = True,
    payer_name: str = "",
) -> Payment:
    """Records money received for one or more of the family's invoices of this régie. Each
    share must be more than 0 and at most what the invoice still has due, checked on the locked
    rows. With a `transaction_reference` (online payment) a second call for the same transaction
    returns the first payment and changes nothing. `payer_name` is who paid, as the receipt
    names them (empty: the family's « Payeur des factures » of today, kept with the payment)."""
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Choisissez un mode de paiement.")})
    if transaction_reference:
        existing = Payment.objects.filter(
            regie=regie, transaction_reference=transaction_reference
        ).first()
        if existing is not None:
            return existing
    if not allocations:
        raise ValidationError(_("Choisissez au moins une facture."))
    wanted: dict[int, Decimal] = {}
    for invoice, amount in allocations:
        if not isinstance(amount, Decimal) or amount != amount.quantize(CENT):
            raise ValidationError({"amount": _("Un montant en euros et centimes.")})
        wanted[invoice.pk] = wanted.get(invoice.pk, ZERO) + amount
    invoices = _lock_invoices(list(wanted))
    for pk, amount in wanted.items():
        invoice = invoices.get(pk)
        if invoice is None or invoice.famille_id != famille.pk or invoice.regie_id != regie.pk:
            raise ValidationError(_("Cette facture n'est pas une facture de la famille."))
        if invoice.status == InvoiceStatus.ANNULEE:
            raise ValidationError(_("La facture n° %(n)s est annulée.") % {"n": invoice.number})
        # An invoice in a direct-debit batch is paid by that debit alone, and only it (issue 19):
        # never both debited and paid by card or at the counter.
        if (invoice.status == InvoiceStatus.PRELEVEMENT_EN_COURS) != (
            method == PaymentMethod.PRELEVEMENT
        ):
            raise ValidationError(
                _(
                    "La facture n° %(n)s est en cours de prélèvement : elle sera réglée par le "
                    "prélèvement, ou de nouveau due s'il est rejeté."
                )
                % {"n": invoice.number}
                if invoice.status == InvoiceStatus.PRELEVEMENT_EN_COURS
                else _("La facture n° %(n)s n'est pas dans un lot de prélèvements.")
                % {"n": invoice.number}
            )
        if amount <= 0:
            raise ValidationError({"amount": _("Le montant est supérieur à 0 €.")})
        if amount > invoice.due_amount:
            raise ValidationError(
                {
                    "amount": _(
                        "La facture n° %(n)s n'a plus que %(due)s à régler : le montant ne peut "
                        "pas dépasser ce qui reste dû."
                    )
                    % {"n": invoice.number, "due": money(invoice.due_amount)}
                }
            )
    total = sum(wanted.values(), ZERO)
    payment = Payment.objects.create(
        commune_id=regie.commune_id,
        regie=regie,
        famille=famille,
        number=next_number(regie=regie, kind=SequenceKind.RECU),
        method=method,
        amount=total,
        received_on=received_on,
        reference=reference,
        transaction_reference=transaction_reference or "",
        # Kept with the payment: choosing another payer later does not rename an old receipt.
        payer_name=" ".join(payer_name.split())[:200] or family_selectors.payeur_name(famille),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    for pk, amount in wanted.items():
        invoice = invoices[pk]
        PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=amount)
        invoice.paid += amount
        _move(invoice, _status_for(invoice), actor=actor)
        invoice.save(update_fields=["paid", "status"])
    plans.follow_invoices(invoice_ids=list(wanted), actor=actor)
    audit(
        actor=actor,
        action="paiement.enregistre",
        commune=regie.commune,
        target=payment,
        famille_id=famille.pk,
        changes={
            "amount": [None, total],
            "method": [None, method],
            "invoices": [None, ", ".join(str(invoices[pk].number) for pk in wanted)],
        },
    )
    if send_receipt:
        from parvis.billing import tasks

        enqueue_on_commit(tasks.send_receipt, payment_id=payment.pk, commune_id=payment.commune_id)
    return payment


# --- Direct debit (issue 19; payments.services_sepa is the caller) --------------------------------


def start_direct_debit(
    *, invoices: Seq[Invoice], actor: User | None, reason: str, instalment: bool = False
) -> None:
    """Moves invoices the caller has locked (pk order, `lock_invoices`) from « à régler » to
    « prélèvement en cours », with their history: they are in a debit batch sent to the bank.
    A whole invoice is debited only with nothing paid; an `instalment` of a payment plan is
    debited from an invoice of the plan « à régler » or « partiellement réglée »: until the
    bank has it, nothing else pays the invoice (`record_payment` refuses any other way)."""
    for invoice in invoices:
        if instalment:
            if invoice.status not in DUE_STATUSES or invoice.due_amount <= 0:
                raise ValidationError(
                    _("La facture n° %(n)s n'a plus rien à régler.") % {"n": invoice.number}
                )
        elif invoice.paid != 0:
            raise ValidationError(_("Seule une facture sans paiement est prélevée."))
        _move(invoice, InvoiceStatus.PRELEVEMENT_EN_COURS, actor=actor, reason=reason)
        invoice.save(update_fields=["status"])


def end_direct_debit(*, invoice: Invoice, actor: User | None, reason: str) -> None:
    """A locked invoice « prélèvement en cours » is due again (its debit was rejected or taken
    out of its batch before the bank had it)."""
    if invoice.status != InvoiceStatus.PRELEVEMENT_EN_COURS:
        raise ValidationError(_("Cette facture n'est pas en cours de prélèvement."))
    _move(invoice, _status_for(invoice), actor=actor, reason=reason)
    invoice.save(update_fields=["status"])


def lock_invoices(ids: Seq[int]) -> dict[int, Invoice]:
    """The invoices locked in pk order (the order every payment path takes them in)."""
    return _lock_invoices(ids)


@transaction.atomic
def cancel_payment(*, payment: Payment, actor: User, reason: str) -> Payment:
    """An agent cancels a payment (a bounced cheque, a mistake): its shares come off the
    invoices, which are due again. The reason is required and kept in the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif de l'annulation.")})
    payment = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
    if payment.status == PaymentStatus.ANNULE:
        raise ValidationError(_("Ce paiement est déjà annulé."))
    allocations = list(payment.allocations.all())
    invoices = _lock_invoices([a.invoice_id for a in allocations])
    for allocation in allocations:
        invoice = invoices[allocation.invoice_id]
        invoice.paid -= allocation.amount
        _move(invoice, _status_for(invoice), actor=actor, reason=reason)
        invoice.save(update_fields=["paid", "status"])
    payment.status = PaymentStatus.ANNULE
    payment.cancelled_by = actor
    payment.cancelled_at = timezone.now()
    payment.cancel_reason = reason
    payment.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    plans.follow_invoices(invoice_ids=list(invoices), actor=actor)
    audit(
        actor=actor,
        action="paiement.annule",
        commune=payment.commune,
        target=payment,
        famille_id=payment.famille_id,
        changes={"status": [PaymentStatus.VALIDE, PaymentStatus.ANNULE], "reason": [None, reason]},
    )
    return payment
