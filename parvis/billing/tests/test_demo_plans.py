"""The demo payment plan (issue 19 §3): `make run` shows a plan en cours of three instalments to
the cent in Carrières-sous-Poissy (the BERNARD family, first instalment paid at the counter), and
loading again grants no second plan."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine

from parvis.billing.models import (
    InstalmentStatus,
    Invoice,
    InvoiceStatus,
    PaymentPlan,
    PlanStatus,
)
from parvis.portal.management.commands.load_demo import LOADERS

pytestmark = pytest.mark.django_db


def load_all():
    with time_machine.travel(date(2026, 11, 22), tick=False):
        for loader in LOADERS:
            loader()


def test_the_demo_commune_has_a_running_plan_of_three_instalments(mailoutbox):
    load_all()
    plan = PaymentPlan.objects.get()
    assert plan.commune.slug == "carrieres-sous-poissy" and plan.famille.name == "BERNARD"
    assert plan.status == PlanStatus.ACTIF and plan.total == D("145.00")
    assert [
        (i.due_on, i.amount, i.paid, i.status) for i in plan.instalments.order_by("position")
    ] == [
        (date(2026, 10, 15), D("48.33"), D("48.33"), InstalmentStatus.PAYEE),
        (date(2026, 11, 15), D("48.33"), D("0"), InstalmentStatus.EN_RETARD),
        (date(2026, 12, 15), D("48.34"), D("0"), InstalmentStatus.A_PAYER),
    ]
    invoice = Invoice.objects.get(label="Séjour neige (Ecole du PARC)")
    assert (invoice.paid, invoice.status) == (D("48.33"), InvoiceStatus.PARTIELLEMENT_REGLEE)
    assert mailoutbox == []
    load_all()
    assert PaymentPlan.objects.count() == 1
    assert Invoice.objects.filter(label="Séjour neige (Ecole du PARC)").count() == 1
