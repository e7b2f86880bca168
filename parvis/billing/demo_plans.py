"""Demo payment plan of Carrières-sous-Poissy (issue 19 §3), after demo_invoices.py: the BERNARD
family (activities/demo.py) owes its « Séjour neige (Ecole du PARC) » of 145,00 € and the
« Régie enfance » granted it a plan of three monthly instalments (48,33 €, 48,33 €, 48,34 €:
the last absorbs the rounding), the first paid at the counter, two to come: `csp-regie` sees it
at the guichet (Régie › Échéanciers), in progress. Idempotent: the invoice is found by its label,
and a plan is granted only once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from django.contrib.auth import get_user_model

from parvis.activities.demo import BERNARD_NUMBER
from parvis.billing import plans, services_plans, services_runs
from parvis.billing.invoicing import previous_month
from parvis.billing.models import Invoice, PaymentMethod, PlanInvoice, Regie
from parvis.billing.selectors_plans import instalment_allocations
from parvis.billing.services import record_payment
from parvis.families.models import Famille, MemberKind, Personne

LABEL = "Séjour neige (Ecole du PARC)"
CATEGORY = "CLASSES TRANSPLANTÉES"
DAYS, PRICE = 5, D("29.00")  # 145,00 €
INSTALMENTS = 3


def load(regie: Regie, today: date) -> Invoice | None:
    famille = Famille.objects.filter(commune=regie.commune, number=BERNARD_NUMBER).first()
    agent = get_user_model().objects.filter(username="csp-regie").first()
    if famille is None or agent is None:
        return None
    invoice = Invoice.objects.filter(regie=regie, famille=famille, label=LABEL).first()
    if invoice is not None:
        return invoice
    child = Personne.objects.filter(famille=famille, kind=MemberKind.ENFANT).first()
    month = previous_month(today)  # the stay, the month before last's end
    start = month - timedelta(days=28)
    start += timedelta(days=(7 - start.weekday()) % 7)
    invoice = services_runs.create_stay_invoice(
        regie=regie, famille=famille, category=CATEGORY, label=LABEL, child=child,
        period_start=start, period_end=start + timedelta(days=DAYS - 1),
        quantity=DAYS, unit_price=PRICE, actor=None,
    )  # fmt: skip
    Invoice.objects.filter(pk=invoice.pk).update(
        issued_on=start - timedelta(days=21), due_on=start - timedelta(days=1)
    )
    invoice.refresh_from_db()
    if PlanInvoice.objects.filter(invoice=invoice).exists():
        return invoice
    first = month + timedelta(days=14)  # the 15th of last month, then monthly
    dates = plans.monthly_dates(first, INSTALMENTS)
    plan = services_plans.grant_plan(
        famille=famille,
        invoices=[invoice],
        schedule=list(zip(dates, plans.split(invoice.total, INSTALMENTS), strict=True)),
        actor=agent,
        note="Accordé après un entretien avec la famille (démonstration).",
        today=first,
    )
    record_payment(
        regie=regie, famille=famille,
        allocations=instalment_allocations(plan, plan.instalments.order_by("position")[0].amount),
        method=PaymentMethod.ESPECES, received_on=first, actor=agent,
        reference="Échéance 1 (démonstration)", send_receipt=False,
    )  # fmt: skip
    return invoice
