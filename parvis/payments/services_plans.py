"""Online payment of a payment plan's next instalment (issue 19 §3): « Payer cette échéance »
starts a transaction for what remains of the plan's first unpaid instalment, its shares spread
over the plan's invoices in their order (`billing.selectors_plans.instalment_allocations`). The
rest is the ordinary online payment: the provider's verified notification records the payment
through `billing.services.record_payment`, and the plan follows (`billing.plans`).

The amount is computed here from the locked rows, never read from the browser, which sends only
the plan's id."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction as db
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing import selectors_plans
from parvis.billing.models import InstalmentStatus, Invoice, PaymentPlan, PlanInvoice, PlanStatus
from parvis.communes.models import Commune
from parvis.money import ZERO
from parvis.payments.models import (
    Transaction,
    TransactionInvoice,
)
from parvis.payments.providers import Redirect
from parvis.payments.services import (
    _replace_pending,
    new_reference,
    provider_for,
    send_to_provider,
)

NOTHING = gettext_lazy("Cet échéancier n'a plus d'échéance à payer.")


def start_instalment_payment(
    *, families, user: User | None, commune: Commune, plan_id
) -> tuple[Transaction, Redirect]:
    """Starts paying online the next instalment of one of `families`' plans en cours (what
    remains of it). Raises ValidationError when there is nothing to pay or the provider cannot
    start; a plan of another family or commune is « nothing to pay »."""
    plan = selectors_plans.family_plan(famille=families, commune=commune, pk=plan_id)
    if plan is None or plan.status != PlanStatus.ACTIF:
        raise ValidationError(NOTHING)
    try:
        provider = provider_for(commune)
    except LookupError as error:
        raise ValidationError(
            _(
                "Le paiement en ligne n'est pas ouvert dans cette commune : réglez au guichet "
                "de la régie."
            )
        ) from error
    if provider.needs_email and not (user is not None and user.email):
        raise ValidationError(
            _(
                "Le paiement en ligne demande une adresse électronique : indiquez-la dans votre "
                "compte, ou réglez au guichet de la régie."
            )
        )
    with db.atomic():
        # The plan's invoices locked in pk order (as every payment locks them), then the plan.
        invoice_ids = PlanInvoice.objects.filter(plan=plan).values("invoice_id")
        locked = {
            invoice.pk: invoice
            for invoice in Invoice.objects.select_for_update(of=("self",))
            .filter(pk__in=invoice_ids)
            .select_related("regie")
            .order_by("pk")
        }
        plan = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
        instalment = (
            plan.instalments.exclude(status=InstalmentStatus.PAYEE).order_by("position").first()
        )
        if plan.status != PlanStatus.ACTIF or instalment is None:
            raise ValidationError(NOTHING)
        shares = selectors_plans.instalment_allocations(
            plan, instalment.due_amount, invoices=locked
        )
        amount = sum((share for _invoice, share in shares), ZERO)
        if amount <= 0:
            raise ValidationError(NOTHING)
        transaction = Transaction.objects.create(
            commune=commune,
            famille_id=plan.famille_id,
            user=user if user is not None and user.pk else None,
            reference=new_reference(),
            provider=provider.name,
            options=dict(provider.options),
            amount=amount,
        )
        _replace_pending([invoice for invoice, _share in shares], by=transaction, user=user)
        TransactionInvoice.objects.bulk_create(
            TransactionInvoice(transaction=transaction, invoice=invoice, amount=share)
            for invoice, share in shares
        )
        audit(
            actor=user,
            action="paiement_en_ligne.demande",
            commune=commune,
            target=transaction,
            famille_id=plan.famille_id,
            changes={
                "amount": [None, amount],
                "invoices": [None, ", ".join(str(invoice.number) for invoice, _s in shares)],
                "instalment": [None, f"{plan.pk}/{instalment.position}"],
            },
        )
    return transaction, send_to_provider(
        commune=commune, provider=provider, transaction=transaction, amount=amount
    )
