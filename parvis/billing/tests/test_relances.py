"""Reminders of overdue invoices: one e-mail per invoice with what remains due and the link to
« Mon compte », an InvoiceReminder and an audit row each, once per click (and at most once a
day), families without e-mail left to a letter; the régie's page that sends them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.billing import services
from parvis.billing.models import InvoiceReminder, PaymentMethod
from parvis.billing.services_relances import send_reminders
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import (
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)
from parvis.testing.guichet import text_of
from parvis.testing.regie import make_agent, make_invoice, make_regie

pytestmark = pytest.mark.django_db

TODAY = date(2026, 10, 20)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel("2026-10-20 10:00 +02:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def commune():
    return CommuneFactory(name="Villebois", slug="villebois")


@pytest.fixture
def regie(commune):
    return make_regie(commune)


@pytest.fixture
def agent(commune):
    return make_agent(commune, AgentRole.Role.REGIE)


def family(commune, name, email="", number=None):
    famille = FamilleFactory(commune=commune, name=name, **({"number": number} if number else {}))
    PersonneFactory(famille=famille, first_names="Françoise", email=email)
    return famille


@pytest.fixture
def durand(commune):
    return family(commune, "DURAND", "francoise.durand@example.fr", number=1)


@pytest.fixture
def overdue(regie, durand):
    invoice = make_invoice(regie, durand, "45.10", due_on=date(2026, 10, 15))
    services.record_payment(
        regie=regie,
        famille=durand,
        allocations=[(invoice, D("20.01"))],
        method=PaymentMethod.ESPECES,
        received_on=date(2026, 10, 16),
        actor=None,
        send_receipt=False,
    )
    invoice.refresh_from_db()
    return invoice


def remind(invoices, agent, capture, today=TODAY):
    with capture(execute=True):
        return send_reminders(invoices=invoices, actor=agent, today=today)


# --- The service -------------------------------------------------------------------------------


def test_a_reminder_says_what_remains_due(overdue, agent, django_capture_on_commit_callbacks):
    # To every responsable with an e-mail, as the invoices go: one message.
    PersonneFactory(famille=overdue.famille, first_names="Paul", email="paul@example.fr")
    PersonneFactory(famille=overdue.famille, first_names="Zoé", email="")
    result = remind([overdue], agent, django_capture_on_commit_callbacks)
    assert result.sent == [overdue]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["francoise.durand@example.fr", "paul@example.fr"]
    assert message.subject == f"Villebois — rappel : facture n° {overdue.number} à régler"
    body = message.body
    assert f"la facture n° {overdue.number} « Périscolaire — septembre 2026 » du 01/10/2026" in body
    assert "Elle était à régler avant le 15/10/2026." in body
    assert "Montant de la facture : 45,10 €" in body
    assert "Reste à payer : 25,09 €" in body
    assert "http://testserver/villebois/mon-espace/factures/" in body
    assert "Chèque à l'ordre de : Régie enfance de Villebois" in body
    reminder = InvoiceReminder.objects.get()
    assert (reminder.invoice, reminder.email, reminder.sent_by) == (
        overdue,
        "francoise.durand@example.fr",
        agent,
    )
    entry = AuditEntry.objects.get(action="facture.relance")
    assert (entry.actor, entry.target_id, entry.famille_id) == (
        agent,
        str(overdue.pk),
        overdue.famille_id,
    )
    assert entry.changes["due"] == [None, "25.09"]


def test_once_a_day_at_most(overdue, agent, now, django_capture_on_commit_callbacks):
    remind([overdue], agent, django_capture_on_commit_callbacks)
    result = remind([overdue], agent, django_capture_on_commit_callbacks)
    assert result.already == [overdue] and not result.sent
    assert len(mail.outbox) == 1 and InvoiceReminder.objects.count() == 1
    now.move_to("2026-10-21 08:00 +02:00")
    result = remind([overdue], agent, django_capture_on_commit_callbacks, date(2026, 10, 21))
    assert result.sent == [overdue]
    assert len(mail.outbox) == 2 and InvoiceReminder.objects.count() == 2


def test_only_invoices_still_due_and_late(regie, durand, agent, django_capture_on_commit_callbacks):
    due_today = make_invoice(regie, durand, "10.00", due_on=TODAY)  # not late yet
    paid = make_invoice(regie, durand, "10.00", due_on=date(2026, 10, 1))
    services.record_payment(
        regie=regie,
        famille=durand,
        allocations=[(paid, D("10.00"))],
        method=PaymentMethod.ESPECES,
        received_on=TODAY,
        actor=None,
        send_receipt=False,
    )
    late = make_invoice(regie, durand, "10.00", due_on=date(2026, 10, 19))
    result = remind([due_today, paid, late], agent, django_capture_on_commit_callbacks)
    assert result.sent == [late]
    assert sorted(i.pk for i in result.not_due) == sorted([due_today.pk, paid.pk])
    assert len(mail.outbox) == 1


def test_a_family_without_email_is_reminded_by_post(
    commune, regie, agent, django_capture_on_commit_callbacks
):
    moreau = family(commune, "MOREAU")
    invoice = make_invoice(regie, moreau, "12.00")
    result = remind([invoice], agent, django_capture_on_commit_callbacks)
    assert result.by_post == [invoice] and not result.sent
    assert mail.outbox == [] and not InvoiceReminder.objects.exists()
    # An account managing the family file gives the address when no responsable has one.
    FamilyAccessFactory(
        famille=moreau, user=CitizenFactory(commune=commune, email="moreau@example.fr")
    )
    result = remind([invoice], agent, django_capture_on_commit_callbacks)
    assert result.sent == [invoice]
    assert mail.outbox[0].to == ["moreau@example.fr"]


# --- The régie's page --------------------------------------------------------------------------


def relances_url(commune):
    return reverse("guichet_regie:relances", kwargs={"commune": commune.slug})


def test_the_page_sends_once_per_click(
    client, commune, regie, overdue, agent, django_capture_on_commit_callbacks
):
    moreau = family(commune, "MOREAU")
    moreau.address, moreau.postal_code, moreau.city = "2, rue Haute", "78000", "Villebois"
    moreau.save()
    by_post = make_invoice(regie, moreau, "12.00")
    not_late = make_invoice(regie, moreau, "8.00", due_on=date(2026, 10, 25))
    client.force_login(agent)
    response = client.get(relances_url(commune))
    page = text_of(response)
    assert "2 factures en retard" in page
    assert "courriel à francoise.durand@example.fr" in page
    assert "à relancer par courrier 2, rue Haute, 78000 Villebois" in page
    assert "jamais" in page
    assert f"Facture n° {not_late.number}" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            relances_url(commune), {"invoices": [str(overdue.pk), str(by_post.pk)]}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and InvoiceReminder.objects.count() == 1
    # The job's page (the reminders are a background job) says what was done.
    page = text_of(client.get(response["Location"]))
    assert "1 relance envoyée par courriel." in page
    assert f"à relancer par courrier : n° {by_post.number} (MOREAU)." in page
    assert "20/10/2026" in text_of(client.get(relances_url(commune)))  # the last reminder
    # The same click again (a double submission): nothing more today.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(relances_url(commune), {"invoices": [str(overdue.pk)]})
    assert len(mail.outbox) == 1 and InvoiceReminder.objects.count() == 1


def test_the_page_refuses_what_is_not_on_its_list(
    client, commune, regie, overdue, agent, django_capture_on_commit_callbacks
):
    other = CommuneFactory(name="Autreville", slug="autreville")
    foreign = make_invoice(make_regie(other), family(other, "MARTIN", "m@example.fr"), "9.00")
    not_late = make_invoice(regie, overdue.famille, "8.00", due_on=date(2026, 10, 25))
    client.force_login(agent)
    for invoices in ([str(foreign.pk)], [str(not_late.pk)], ["abc"], []):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(relances_url(commune), {"invoices": invoices})
        assert response.status_code == 400
    assert "Cochez au moins une facture à relancer." in text_of(response)
    assert mail.outbox == [] and not InvoiceReminder.objects.exists()
    # Another role: 403.
    client.force_login(make_agent(commune, AgentRole.Role.ENFANCE))
    assert client.post(relances_url(commune), {"invoices": [str(overdue.pk)]}).status_code == 403
    assert mail.outbox == []


def test_the_page_has_constant_queries(
    client, commune, regie, agent, django_assert_max_num_queries
):
    def make(n):
        for i in range(n):
            invoice = make_invoice(regie, family(commune, f"F{i}", f"f{i}@example.fr"), "5.00")
            InvoiceReminder.objects.create(commune=commune, invoice=invoice, email="x@example.fr")

    client.force_login(agent)
    make(2)
    with django_assert_max_num_queries(20) as few:
        client.get(relances_url(commune))
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(relances_url(commune))
    assert len(response.context["rows"]) == 22
