"""Separated parents in « Mon compte » (issue 19 §2): the run issues each household its own
invoice for its share of the shared child's month; each parent sees and pays only theirs, and
never the other's invoice, address or payments, even by guessing addresses (404); the
attendance certificate names the parent's own household and its days only; the tax
certificate counts each household's part of what it paid."""

import re
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from parvis.activities.rules import PARIS
from parvis.activities.services_custody import record_custody
from parvis.billing import pdf, services, services_runs
from parvis.billing.models import Invoice, PaymentMethod
from parvis.billing.selectors_documents import family_children, tax_certificate
from parvis.billing.tests.invoicing_factories import NOV, NOV_DAYS, book, child, family, make_world
from parvis.families.models import CustodyRule, CustodySide
from parvis.families.tests.factories import FamilyAccessFactory
from parvis.payments.models import Transaction

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
TODAY = datetime(2026, 12, 10, 9, 0, tzinfo=PARIS)
EVEN = [d for d in NOV_DAYS if d.isocalendar().week % 2 == 0]
ODD = [d for d in NOV_DAYS if d.isocalendar().week % 2 == 1]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def no_receipt_mail(monkeypatch):
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


@pytest.fixture
def split(django_capture_on_commit_callbacks):
    world = make_world()
    mother = family(world, "DURAND", qf="1650.00", address="3, rue des Lilas")
    father = family(world, "MARTIN", qf="800.00", address="8, avenue Foch")
    lea = child(world, mother, "Léa", date(2021, 4, 1))
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
        first_side=CustodySide.FOYER, since=date(2026, 9, 1),
    )  # fmt: skip
    book(lea, world.meal, NOV_DAYS)  # 8 even × 4,15 € (hers), 9 odd × 2,10 € (his)
    book(lea, world.am, NOV_DAYS[:6])  # 1,20 € flat, childcare: 2 even (hers), 4 odd (his)
    with django_capture_on_commit_callbacks(execute=True):
        services_runs.issue_run(regie=world.regie, month=NOV, actor=None)
    return {
        "world": world, "mother": mother, "father": father, "lea": lea,
        "mother_invoice": Invoice.objects.get(famille=mother),
        "father_invoice": Invoice.objects.get(famille=father),
        "mother_user": FamilyAccessFactory(famille=mother).user,
        "father_user": FamilyAccessFactory(famille=father).user,
    }  # fmt: skip


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_run_issues_each_household_its_share_to_the_cent(split):
    assert split["mother_invoice"].total == D("35.60")  # 8 × 4,15 + 2 × 1,20
    assert split["father_invoice"].total == D("23.70")  # 9 × 2,10 + 4 × 1,20
    assert Invoice.objects.count() == 2


def test_each_parent_sees_and_pays_only_their_invoice(client, split):
    slug = split["world"].commune.slug
    mine, theirs = split["father_invoice"], split["mother_invoice"]
    services.record_payment(
        regie=split["world"].regie, famille=split["mother"],
        allocations=[(theirs, theirs.total)], method=PaymentMethod.ESPECES,
        received_on=date(2026, 12, 9), actor=None, reference="GUICHET-1",
    )  # fmt: skip
    client.force_login(split["father_user"], backend=BACKEND)
    page = text_of(client.get(reverse("billing:mon_compte", args=[slug])))
    assert "23,70" in page
    assert "35,60" not in page and "rue des Lilas" not in page
    assert client.get(reverse("billing:facture", args=[slug, mine.pk])).status_code == 200
    # The mother's invoice, its payments, its PDF and her receipt: 404 by URL guessing.
    for name in ("facture", "paiements", "facture_pdf"):
        assert client.get(reverse(f"billing:{name}", args=[slug, theirs.pk])).status_code == 404
    receipt = theirs.allocations.get().payment
    assert client.get(reverse("billing:recu_pdf", args=[slug, receipt.pk])).status_code == 404
    # The father cannot pay her invoice either (the payment page refuses another's id).
    paying = client.post(reverse("payments:payer", args=[slug]), {"factures": [theirs.pk]})
    assert paying.status_code == 302
    assert not Transaction.objects.exists()


def test_the_attendance_certificate_is_each_households_own(split):
    context = pdf.attendance_certificate_context(
        famille=split["father"], child=split["lea"], start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )  # fmt: skip
    days = sorted(day for unit in context["units"] for day in unit.days)
    assert days == sorted(ODD + [d for d in ODD if d in NOV_DAYS[:6]])
    assert (context["famille"]["name"], context["famille"]["address"]) == (
        "MARTIN",
        "8, avenue Foch",
    )
    mother_days = pdf.attendance_certificate_context(
        famille=split["mother"], child=split["lea"], start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )["units"]  # fmt: skip
    assert sum(unit.count for unit in mother_days) == len(EVEN) + 2


def test_the_father_asks_the_certificate_of_the_shared_child(client, split):
    client.force_login(split["father_user"], backend=BACKEND)
    commune = split["world"].commune
    assert split["lea"] in family_children(user=split["father_user"], commune=commune)
    response = client.post(
        reverse("billing:attestation_presence", args=[commune.slug]),
        {"child": split["lea"].pk, "start": "01/11/2026", "end": "30/11/2026"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_the_tax_certificate_counts_each_households_paid_part(split):
    father_invoice = split["father_invoice"]
    services.record_payment(
        regie=split["world"].regie, famille=split["father"],
        allocations=[(father_invoice, father_invoice.total)], method=PaymentMethod.ESPECES,
        received_on=date(2026, 12, 9), actor=None,
    )  # fmt: skip
    certificate = tax_certificate(famille=split["father"], year=2026)
    assert [(c.child, c.amount) for c in certificate.children] == [(split["lea"], D("4.80"))]
    assert tax_certificate(famille=split["mother"], year=2026).total == D("0.00")  # unpaid
