"""Reminders stay in the agent's request (their e-mails leave through the queue): one page of
the overdue list at most (50 invoices) is reminded at once; more ticked (a forged form) is
refused next to the field, nothing sent. The clock is 20 October 2026; the invoices were due
on the 15th."""

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import AgentRole
from parvis.billing.models import InvoiceReminder
from parvis.families.tests.factories import FamilleFactory, PersonneFactory
from parvis.payments.guichet.views import PER_PAGE
from parvis.testing.guichet import text_of
from parvis.testing.regie import make_agent, make_invoice, make_regie

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel("2026-10-20 10:00 +02:00", tick=False):
        yield


def test_at_most_a_page_of_reminders_at_once(client, commune):
    regie = make_regie(commune)
    invoices = []
    for index in range(PER_PAGE + 1):
        famille = FamilleFactory(commune=commune, name=f"FAMILLE{index}")
        PersonneFactory(famille=famille, email=f"famille{index}@example.fr")
        invoices.append(make_invoice(regie, famille, "12.40"))
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    address = reverse("guichet_regie:relances", kwargs={"commune": commune.slug})

    response = client.post(address, {"invoices": [invoice.pk for invoice in invoices]})
    assert response.status_code == 400
    assert "Cochez au plus 50 factures à la fois (une page de la liste)." in text_of(response)
    assert not InvoiceReminder.objects.exists()

    response = client.post(address, {"invoices": [invoice.pk for invoice in invoices[:PER_PAGE]]})
    assert response.status_code == 302
    assert InvoiceReminder.objects.count() == PER_PAGE
