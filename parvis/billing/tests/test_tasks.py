"""Billing's PDFs leave from background tasks (django-tasks): a run's invoices, a stay's invoice
and payment receipts are queued at the commit and sent by `manage.py db_worker` with the
database backend of production; receipts before a run's invoices."""

import signal
from datetime import date
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from parvis.billing import services_delivery, services_runs
from parvis.billing.models import Delivery, Invoice, InvoicingRun
from parvis.billing.tests.test_pdf_support import make_invoice, make_world, pay

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def stay(world, famille=None):
    return services_runs.create_stay_invoice(
        regie=world.regie, famille=famille or world.famille, category="Classes transplantées",
        label="Séjour CT 3 (Ecole du PARC)", child=world.hugo, period_start=date(2026, 11, 9),
        period_end=date(2026, 11, 13), quantity=5, unit_price=D("14.76"), actor=None,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_stay_invoice_is_emailed_at_once_to_a_paperless_family(
    django_capture_on_commit_callbacks,
):
    world = make_world()
    world.famille.paperless_invoice = True
    world.famille.save()
    with django_capture_on_commit_callbacks(execute=True):
        invoice = stay(world)
    [message] = mail.outbox
    assert message.subject == f"Villebois — Votre facture n° {invoice.number}"
    assert message.attachments[0][0] == f"facture-{invoice.number}.pdf"
    invoice.refresh_from_db()
    assert (invoice.delivery, invoice.emailed_at is not None) == (Delivery.COURRIEL, True)


@pytest.mark.django_db
def test_a_stay_invoice_on_paper_is_not_emailed(django_capture_on_commit_callbacks):
    world = make_world()
    with django_capture_on_commit_callbacks(execute=True):
        invoice = stay(world)
    assert mail.outbox == []
    assert Invoice.objects.get(pk=invoice.pk).delivery == Delivery.PAPIER


@pytest.mark.django_db
def test_a_receipt_is_queued_ahead_of_a_runs_invoices(settings, django_capture_on_commit_callbacks):
    settings.TASKS = DUMMY
    world = make_world()
    invoice = make_invoice(world)
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(world, invoice, "10.00", date(2026, 3, 30))
        services_delivery.queue_invoices(invoice_ids=[invoice.pk])
    assert mail.outbox == []
    receipt = next(
        r for r in default_task_backend.results if r.task.module_path.endswith("send_receipt")
    )
    assert receipt.kwargs == {"payment_id": payment.pk, "commune_id": payment.commune_id}
    from parvis.billing import tasks

    assert tasks.send_receipt.priority > tasks.send_invoices.priority


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_sends_what_the_request_queued(settings):
    """Production's path: the request only writes tasks; `db_worker --batch` sends the run's
    invoice and the receipt, once; the tasks end successful."""
    settings.TASKS = DATABASE
    world = make_world()
    world.famille.paperless_invoice = True
    world.famille.save()
    invoice = make_invoice(world)
    run = InvoicingRun.objects.create(
        commune=world.commune, regie=world.regie, month=date(2026, 3, 1)
    )
    Invoice.objects.filter(pk=invoice.pk).update(run=run, delivery=Delivery.COURRIEL)
    assert services_delivery.deliver_run(run=run, actor=None) == {"queued": 1}
    pay(world, invoice, "10.00", date(2026, 3, 30))
    assert mail.outbox == []
    assert DBTaskResult.objects.count() == 2

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    # The receipt first (priority), then the invoice.
    assert [m.subject.split(" — ")[1].split(" n° ")[0] for m in mail.outbox] == [
        "Votre reçu de paiement",
        "Votre facture",
    ]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is not None
    # Asking again queues nothing.
    assert services_delivery.deliver_run(run=run, actor=None) == {"queued": 0}
    assert DBTaskResult.objects.count() == 2
