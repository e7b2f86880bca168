"""The demo invoices: the seed's « Séjour CT 3 (Ecole du PARC) » n° 7916 settled for 73,80 €,
last month's DURAND invoice due with its lines reproduced by hand to the cent, the commune on
the simulator, and a second load duplicates nothing."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine

from parvis.billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind, Payment
from parvis.payments.models import ProviderConfig
from parvis.portal.management.commands.load_demo import LOADERS

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)


def load_all():
    with time_machine.travel(date(2026, 11, 22), tick=False):
        for loader in LOADERS:
            loader()


def test_the_durand_family_has_the_seeds_stay_settled_and_last_month_due(mailoutbox):
    load_all()
    stay = Invoice.objects.get(label="Séjour CT 3 (Ecole du PARC)")
    assert (stay.number, stay.category, stay.kind) == (7916, "CLASSES TRANSPLANTÉES", "unique")
    assert (stay.total, stay.paid, stay.status) == (D("73.80"), D("73.80"), InvoiceStatus.REGLEE)
    assert stay.famille.name == "DURAND"
    october = Invoice.objects.get(kind=InvoiceKind.MENSUELLE, famille=stay.famille)
    assert october.famille == stay.famille
    assert (october.month, october.number, october.status) == (
        date(2026, 10, 1),
        7917,
        InvoiceStatus.A_REGLER,
    )
    # By hand: QF 1117,02 € is the 1100–1299,99 € bracket, 3,30 € a meal; Hugo is the eldest,
    # Léa the 2nd child (−10 % : 2,97 €). October 2026 has 10 canteen days before the Toussaint
    # holidays (zone C from the 17th), Léa's mornings are its 4 Mondays and Tuesdays.
    lines = [
        (line.kind, line.child_name, line.quantity, line.unit_price, line.amount)
        for line in october.lines.order_by("child_name", "position")
    ]
    assert lines == [
        (LineKind.PRESTATION, "Hugo DURAND", 10, D("3.30"), D("33.00")),
        (LineKind.PENALITE, "Hugo DURAND", 1, D("1.65"), D("1.65")),  # 50 % of 3,30 €
        (LineKind.PRESTATION, "Léa DURAND", 4, D("1.20"), D("4.80")),
        (LineKind.PRESTATION, "Léa DURAND", 10, D("2.97"), D("29.70")),
        (LineKind.DEDUCTION, "Léa DURAND", 1, D("-2.97"), D("-2.97")),  # justified absence
    ]
    assert october.total == D("66.18")
    assert ProviderConfig.objects.get(commune=stay.commune).provider == "simulateur"
    assert mailoutbox == []  # the demo e-mails nobody


def test_loading_twice_changes_nothing():
    load_all()
    before = list(Invoice.objects.values_list("pk", "number", "total", "paid"))
    load_all()
    assert list(Invoice.objects.values_list("pk", "number", "total", "paid")) == before
    # The stay paid by card, and the demo plan's first instalment at the counter (demo_plans).
    assert Payment.objects.count() == 2
