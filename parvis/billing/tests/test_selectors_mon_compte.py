"""The family-scoped reads of « Mon compte » (parvis/billing/selectors.py): only the family's
own invoices of the commune, the balance to the cent, the payments of one invoice, the due
invoices among ids posted by a browser (what « Payer » may charge), and the status in words at
its boundaries."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.accounts.models import AgentRole
from parvis.billing import selectors, services
from parvis.billing.models import InvoiceKind, InvoiceStatus, PaymentMethod
from parvis.billing.tests.test_mon_compte import line, make_invoice, pay, world
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Famille
from parvis.families.tests.factories import AgentFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_receipt_mail(monkeypatch):
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


@pytest.fixture
def durand():
    return world()


@pytest.fixture
def elsewhere():
    return world(CommuneFactory(name="Autreville", slug="autreville"))


def pks(invoices):
    return [invoice.pk for invoice in invoices]


# --- citizen_families ---------------------------------------------------------------------------


def test_citizen_families_are_the_accounts_families_of_the_commune(durand, elsewhere):
    user, commune = durand["user"], durand["commune"]
    assert list(selectors.citizen_families(user=user, commune=commune)) == [durand["famille"]]
    # The account of another commune reaches nothing here, even with the right family.
    other = elsewhere["user"]
    assert list(selectors.citizen_families(user=other, commune=commune)) == []


# --- invoices_of / invoice_of -------------------------------------------------------------------


def test_invoices_of_is_the_familys_own_grouped_newest_first(durand, elsewhere):
    neighbour = FamilleFactory(commune=durand["commune"])
    make_invoice(durand["regie"], neighbour)
    invoices = selectors.invoices_of(famille=durand["famille"], commune=durand["commune"])
    assert pks(invoices) == pks([durand["november"], durand["october"], durand["stay"]])
    # The same family asked under another commune: nothing.
    assert not selectors.invoices_of(famille=durand["famille"], commune=elsewhere["commune"])


def test_invoices_of_accepts_the_accounts_families_as_a_queryset(durand):
    second = FamilleFactory(commune=durand["commune"])
    FamilyAccessFactory(famille=second, user=durand["user"])
    extra = make_invoice(durand["regie"], second, issued_on=date(2026, 12, 2))
    families = selectors.citizen_families(user=durand["user"], commune=durand["commune"])
    invoices = list(selectors.invoices_of(famille=families, commune=durand["commune"]))
    assert pks(invoices) == pks([extra, durand["november"], durand["october"], durand["stay"]])


def test_cancelled_invoices_come_last(durand):
    agent = AgentFactory(commune=durand["commune"], roles=[AgentRole.Role.ADMINISTRATEUR])
    services.cancel_invoice(invoice=durand["november"], actor=agent, reason="Doublon")
    invoices = selectors.invoices_of(famille=durand["famille"], commune=durand["commune"])
    assert pks(invoices) == pks([durand["october"], durand["stay"], durand["november"]])


def test_a_category_comes_first_when_its_latest_invoice_is_the_newest(durand):
    later_stay = make_invoice(
        durand["regie"], durand["famille"], kind=InvoiceKind.UNIQUE,
        category="CLASSES TRANSPLANTÉES", label="Séjour CT 4", issued_on=date(2026, 12, 3),
    )  # fmt: skip
    invoices = selectors.invoices_of(famille=durand["famille"], commune=durand["commune"])
    assert pks(invoices) == pks([later_stay, durand["stay"], durand["november"], durand["october"]])


def test_invoice_of_returns_none_for_anything_not_the_familys(durand, elsewhere):
    famille, commune = durand["famille"], durand["commune"]
    found = selectors.invoice_of(famille=famille, commune=commune, pk=durand["november"].pk)
    assert found == durand["november"]
    assert [ln.amount for ln in found.lines.all()] == [
        D("70.55"), D("10.50"), D("5.00"), D("-4.15"),
    ]  # fmt: skip
    assert selectors.invoice_of(famille=famille, commune=commune, pk=str(found.pk)) == found
    for pk in (elsewhere["november"].pk, 0, -1, 10**12, "abc", "1.5", None, ""):
        assert selectors.invoice_of(famille=famille, commune=commune, pk=pk) is None
    neighbour = FamilleFactory(commune=commune)
    pk = durand["november"].pk
    assert selectors.invoice_of(famille=neighbour, commune=commune, pk=pk) is None
    assert selectors.invoice_of(famille=famille, commune=elsewhere["commune"], pk=pk) is None
    nobody = Famille.objects.none()
    assert selectors.invoice_of(famille=nobody, commune=commune, pk=pk) is None


# --- balance_of ---------------------------------------------------------------------------------


def test_the_balance_is_what_remains_due_to_the_cent(durand):
    famille, commune = durand["famille"], durand["commune"]
    assert selectors.balance_of(famille=famille, commune=commune) == D("101.90")
    pay(durand["regie"], famille, durand["november"], "0.01")
    assert selectors.balance_of(famille=famille, commune=commune) == D("101.89")
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    cancelled = make_invoice(
        durand["regie"], famille, line(unit_price="9.99"), month=date(2026, 9, 1)
    )
    assert selectors.balance_of(famille=famille, commune=commune) == D("111.88")
    services.cancel_invoice(invoice=cancelled, actor=agent, reason="Erreur")
    assert selectors.balance_of(famille=famille, commune=commune) == D("101.89")


def test_the_balance_of_a_family_without_invoices_is_zero(durand, elsewhere):
    assert selectors.balance_of(
        famille=FamilleFactory(commune=durand["commune"]), commune=durand["commune"]
    ) == D("0.00")
    # The family's invoices do not count under another commune.
    assert selectors.balance_of(famille=durand["famille"], commune=elsewhere["commune"]) == D(
        "0.00"
    )


# --- payments_of_invoice ------------------------------------------------------------------------


def test_payments_of_invoice_are_its_shares_cancelled_ones_included(durand):
    famille, commune, october = durand["famille"], durand["commune"], durand["october"]
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    first = october.allocations.get().payment
    services.cancel_payment(payment=first, actor=agent, reason="Chèque rejeté")
    second = services.record_payment(
        regie=durand["regie"], famille=famille, method=PaymentMethod.CHEQUE,
        received_on=date(2026, 12, 9), reference="n° 42", actor=None, send_receipt=False,
        allocations=[(october, D("45.10")), (durand["november"], D("1.00"))],
    )  # fmt: skip
    shares = selectors.payments_of_invoice(famille=famille, commune=commune, invoice=october)
    assert [(s.payment, s.amount, s.payment.status) for s in shares] == [
        (second, D("45.10"), "valide"),
        (first, D("25.10"), "annule"),
    ]
    # Another family asking for it gets nothing.
    neighbour = FamilleFactory(commune=commune)
    assert selectors.payments_of_invoice(famille=neighbour, commune=commune, invoice=october) == []


# --- due_invoices -------------------------------------------------------------------------------


def test_due_invoices_keeps_only_the_familys_invoices_still_due(durand, elsewhere):
    famille, commune = durand["famille"], durand["commune"]
    neighbour_invoice = make_invoice(durand["regie"], FamilleFactory(commune=commune))
    agent = AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    cancelled = make_invoice(durand["regie"], famille, month=date(2026, 9, 1))
    services.cancel_invoice(invoice=cancelled, actor=agent, reason="Erreur")
    ids = [
        str(durand["november"].pk), durand["october"].pk, durand["stay"].pk,  # paid: out
        cancelled.pk, neighbour_invoice.pk, elsewhere["november"].pk,  # not payable here
        "abc", "", None, "-3", "1.5", str(durand["november"].pk),  # garbage and a duplicate
    ]  # fmt: skip
    due = selectors.due_invoices(famille=famille, commune=commune, ids=ids)
    assert pks(due) == pks([durand["october"], durand["november"]])  # one each, by due date
    assert [invoice.due_amount for invoice in due] == [D("20.00"), D("81.90")]
    assert due[0].regie == durand["regie"]


def test_due_invoices_orders_by_due_date_and_reads_no_amount(durand):
    famille, commune = durand["famille"], durand["commune"]
    earlier = make_invoice(
        durand["regie"], famille, month=date(2026, 9, 1), due_on=date(2026, 10, 15)
    )
    ids = [durand["november"].pk, earlier.pk]
    assert pks(selectors.due_invoices(famille=famille, commune=commune, ids=ids)) == [
        earlier.pk, durand["november"].pk,
    ]  # fmt: skip
    assert selectors.due_invoices(famille=famille, commune=commune, ids=[]) == []
    assert selectors.due_invoices(famille=famille, commune=commune, ids=["x", None]) == []


def test_due_invoices_of_the_accounts_families(durand):
    second = FamilleFactory(commune=durand["commune"])
    FamilyAccessFactory(famille=second, user=durand["user"])
    theirs = make_invoice(durand["regie"], second)
    families = selectors.citizen_families(user=durand["user"], commune=durand["commune"])
    due = selectors.due_invoices(
        famille=families, commune=durand["commune"], ids=[theirs.pk, durand["november"].pk]
    )
    assert set(pks(due)) == {theirs.pk, durand["november"].pk}


def test_a_fully_paid_invoice_is_no_longer_due(durand):
    famille, commune = durand["famille"], durand["commune"]
    pay(durand["regie"], famille, durand["october"], "20.00")
    ids = [durand["october"].pk]
    assert selectors.due_invoices(famille=famille, commune=commune, ids=ids) == []


# --- invoice_state ------------------------------------------------------------------------------


def test_the_status_in_words_for_each_state(durand):
    def state(invoice, today=date(2026, 12, 10)):
        invoice.refresh_from_db()
        return selectors.invoice_state(invoice, today=today)

    paid = state(durand["stay"])
    assert (paid.code, paid.text, paid.due, paid.payable) == (
        "reglee", "Facture réglée : 73,80 €", D("0.00"), False,
    )  # fmt: skip
    due = state(durand["november"])
    assert (due.code, due.text, due.due, due.payable) == (
        InvoiceStatus.A_REGLER, "À régler : 81,90 € avant le 15/12/2026", D("81.90"), True,
    )  # fmt: skip
    partly = state(durand["october"])
    assert partly.code == InvoiceStatus.PARTIELLEMENT_REGLEE
    assert partly.text == "Partiellement réglée : reste 20,00 € sur 45,10 € avant le 15/12/2026"
    assert partly.due == D("20.00")
    # The due date itself is not late; the day after is.
    assert not state(durand["november"], date(2026, 12, 15)).overdue
    late = state(durand["november"], date(2026, 12, 16))
    assert late.overdue and late.payable and late.code == "en_retard"
    assert late.text == "En retard — À régler : 81,90 € (échéance : 15/12/2026)"
    agent = AgentFactory(commune=durand["commune"], roles=[AgentRole.Role.ADMINISTRATEUR])
    services.cancel_invoice(invoice=durand["november"], actor=agent, reason="Erreur")
    cancelled = state(durand["november"], date(2027, 1, 20))
    assert (cancelled.code, cancelled.text, cancelled.due, cancelled.payable) == (
        "annulee", "Annulée", D("0.00"), False,
    )  # fmt: skip


def test_a_zero_invoice_is_settled(durand):
    empty = make_invoice(
        durand["regie"], durand["famille"], line(unit_price="0.00"), month=date(2026, 9, 1)
    )
    state = selectors.invoice_state(empty, today=date(2026, 12, 10))
    assert state.text == "Facture réglée : 0,00 €" and not state.payable


def test_an_id_too_large_for_the_database_is_left_out(db):
    from parvis.billing.selectors import due_invoices
    from parvis.families.tests.factories import FamilleFactory

    famille = FamilleFactory()
    ids = ["99999999999999999999", str(2**63)]
    assert due_invoices(famille=famille, commune=famille.commune, ids=ids) == []
