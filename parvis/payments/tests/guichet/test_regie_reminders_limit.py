"""Reminders are a background job (issue 17 §4): any number of ticked overdue invoices (the cap
was one page, 50) is reminded in batches, each in a constant number of queries; the click
returns at once to the job's page, which says what was sent. The clock is 20 October 2026; the
invoices were due on the 15th."""

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.background import jobs
from parvis.background.models import Job
from parvis.billing import services_relances
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


def overdue(regie, commune, count, start=0):
    invoices = []
    for index in range(start, start + count):
        famille = FamilleFactory(commune=commune, name=f"FAMILLE{index}")
        PersonneFactory(famille=famille, email=f"famille{index}@example.fr")
        invoices.append(make_invoice(regie, famille, "12.40"))
    return invoices


def test_more_than_a_page_of_reminders_in_the_background(
    client, commune, django_capture_on_commit_callbacks
):
    regie = make_regie(commune)
    invoices = overdue(regie, commune, PER_PAGE + 1)
    agent = make_agent(commune, AgentRole.Role.REGIE)
    client.force_login(agent)
    address = reverse("guichet_regie:relances", kwargs={"commune": commune.slug})

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(address, {"invoices": [invoice.pk for invoice in invoices]})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse(
        "backoffice:travail", kwargs={"commune": commune.slug, "pk": job.pk}
    )
    assert (job.kind, job.status, job.done, job.total) == (
        services_relances.KIND, Job.Status.DONE, 51, 51,
    )  # fmt: skip
    assert InvoiceReminder.objects.count() == 51
    assert AuditEntry.objects.filter(action="facture.relance").count() == 51
    assert AuditEntry.objects.get(action="travail.lance").actor_id == agent.pk
    mail.outbox.clear()  # (sent by the queue at the commit)
    page = text_of(client.get(response.url))
    assert "Relances des factures en retard" in page
    assert "51 relances envoyées par courriel." in page
    assert "51 lignes sur 51 traitées" in page


def test_each_batch_of_reminders_takes_the_same_queries(commune):
    regie = make_regie(commune)
    agent = make_agent(commune, AgentRole.Role.REGIE)

    def queries(count, start):
        invoices = overdue(regie, commune, count, start)
        job = services_relances.start_reminders(commune=commune, invoices=invoices, actor=agent)
        with CaptureQueriesContext(connection) as captured:
            jobs.run(job.pk)
        job.refresh_from_db()
        assert job.result["sent"] == count
        return len(captured.captured_queries)

    assert queries(2, 0) == queries(12, 100)
