"""« Émettre les factures » as a background task (billing.services_runs.start_run and
issue_run_task): the click records the run, queues its task and redirects to the run's page,
which shows the progress (families done / total, then the online invoices sent) and reloads
itself while the run moves; a run stopped after a chunk keeps its committed chunks and
« Reprendre » finishes it without a duplicate; a stale run (its worker died) offers « Reprendre »;
a double click makes one run and one task; another commune's agent gets a 404.

The tests' backend runs a task at the commit (`django_capture_on_commit_callbacks`): without
`execute=True` the task stays queued, as with a busy worker. The clock is 3 December 2026."""

import json
import re
import signal
import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.billing import invoicing, services_runs
from parvis.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoicingRun
from parvis.billing.models import InvoicingRunStatus as Status
from parvis.billing.tests.invoicing_factories import NOV, NOV_DAYS, book, child, family, make_world
from parvis.families.tests.factories import PersonneFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(date(2026, 12, 3), tick=False):
        yield


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def agent(world):
    return make_agent(world.commune, AgentRole.Role.REGIE)


@pytest.fixture
def regie_client(client, agent):
    client.force_login(agent)
    return client


def url(name, world, *args, query=""):
    return reverse(f"guichet_regie:{name}", args=[world.commune.slug, *args]) + query


def families(world, count, **fields):
    """Family i has i + 1 meals at 4,15 €."""
    created = []
    for index in range(count):
        famille = family(world, f"FAMILLE{index}", **fields)
        book(child(world, famille, "Léa", date(2018, 1, 1)), world.meal, NOV_DAYS[: index + 1])
        created.append(famille)
    return created


EMETTRE = {"mois": "2026-11"}


def emettre(client, world):
    return client.post(url("apercu", world), {"regie": world.regie.pk, **EMETTRE})


def progress(response, name):
    """(value, max) of the <progress> `name`, or None."""
    match = re.search(
        rf'<progress id="{name}"\s+max="(\d+)"\s+value="(\d+)"', response.content.decode()
    )
    return (int(match[2]), int(match[1])) if match else None


# --- The click queues, the page follows ---------------------------------------------------------


def test_emettre_queues_the_run_and_its_page_follows_it(
    regie_client, world, agent, django_capture_on_commit_callbacks
):
    families(world, 3)
    with django_capture_on_commit_callbacks() as queued:
        response = emettre(regie_client, world)
    run = InvoicingRun.objects.get()
    assert response.status_code == 302 and response.url == url("facturation", world, run.pk)
    assert len(queued) == 1  # the task, not yet run: a busy worker
    assert not Invoice.objects.exists()
    assert (run.status, run.families_done, run.families_total) == (Status.EN_COURS, 0, 3)
    started = AuditEntry.objects.get(action="facturation.lancee")
    assert started.actor_id == agent.pk and started.changes["families_total"] == [None, 3]

    page = regie_client.get(response.url)
    text = text_of(page)
    assert "Facturation de novembre 2026 lancée : cette page suit son avancement." in text
    assert "En cours" in text and "0 familles sur 3 traitées" in text
    assert progress(page, "progression-familles") == (0, 3)
    assert '<div role="status">' in page.content.decode()
    assert page["Refresh"] == "5"  # reloaded without JavaScript
    assert "Reprendre la facturation" not in text
    assert "Envoyer les factures en ligne" not in text
    # The list and the preview say it is under way.
    assert "Novembre 2026 Régie enfance 0 0,00 € En cours" in text_of(
        regie_client.get(url("facturations", world))
    )
    preview = text_of(regie_client.get(url("apercu", world)))
    assert "Novembre 2026 est en cours de facturation pour la Régie enfance." in preview

    queued[0]()  # the worker takes it
    run.refresh_from_db()
    assert (run.status, run.invoice_count, run.total) == (Status.TERMINEE, 3, D("24.90"))
    assert (run.families_done, run.families_total) == (3, 3)
    lots = AuditEntry.objects.filter(action="facturation.lot")
    assert [entry.actor_id for entry in lots] == [agent.pk]  # the agent who clicked
    assert AuditEntry.objects.filter(action="facturation.terminee").count() == 1
    page = regie_client.get(response.url)
    assert "Refresh" not in page and progress(page, "progression-familles") is None
    assert "État Terminée Factures 3 Montant total 24,90 €" in text_of(page)


def test_a_half_done_run_shows_its_progress_until_it_goes_stale(regie_client, world):
    families(world, 1)
    now = timezone.now()
    run = InvoicingRun.objects.create(
        commune=world.commune, regie=world.regie, month=NOV, families_total=10,
        families_done=4, progress_at=now - timedelta(minutes=4, seconds=59),
    )  # fmt: skip
    page = regie_client.get(url("facturation", world, run.pk))
    text = text_of(page)
    assert progress(page, "progression-familles") == (4, 10)
    assert "4 familles sur 10 traitées" in text and "Cette page s'actualise toutes les 5" in text
    assert page["Refresh"] == "5"
    # The agent may stop the reloading (WCAG 2.2.1).
    still = regie_client.get(url("facturation", world, run.pk, query="?suivi=non"))
    assert "Refresh" not in still and progress(still, "progression-familles") == (4, 10)
    assert "Actualiser la page" in text_of(still)

    # Five minutes without progress: its worker died; the page offers « Reprendre ».
    InvoicingRun.objects.filter(pk=run.pk).update(progress_at=now - timedelta(minutes=5))
    page = regie_client.get(url("facturation", world, run.pk))
    text = text_of(page)
    assert "Refresh" not in page and progress(page, "progression-familles") is None
    assert "Interrompue : à reprendre" in text and "Reprendre la facturation" in text
    assert "s'est arrêtée après 4 familles sur 10" in text
    assert "Interrompue : à reprendre" in text_of(regie_client.get(url("facturations", world)))


def test_a_run_stopped_in_its_second_chunk_is_resumed_without_a_duplicate(
    regie_client, world, agent, monkeypatch, django_capture_on_commit_callbacks
):
    created = families(world, 5)
    monkeypatch.setattr(services_runs, "CHUNK_SIZE", 2)
    real, calls = services_runs._insert_lines, []

    def stop_in_the_second_chunk(lines):
        calls.append(1)
        real(lines)
        if len(calls) == 2:
            raise RuntimeError("the worker stops")  # inside the chunk's transaction

    monkeypatch.setattr(services_runs, "_insert_lines", stop_in_the_second_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        emettre(regie_client, world)
    run = InvoicingRun.objects.get()
    # The first chunk committed, whole; the second rolled back, progress and numbers with it.
    assert list(Invoice.objects.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert InvoiceLine.objects.filter(invoice__number__gt=2).count() == 0
    assert (run.status, run.families_done, run.families_total) == (Status.EN_COURS, 2, 5)
    # Stored as a code (issue 17 §4), read in the reader's language.
    assert json.loads(run.error) == {"code": "technical", "params": {}}
    assert services_runs.error_message(run).startswith(
        "Une erreur technique a arrêté la facturation."
    )
    with translation.override("en"):
        assert services_runs.error_message(run).startswith("A technical error stopped")
    stopped = AuditEntry.objects.get(action="facturation.interrompue")
    assert stopped.actor_id == agent.pk
    assert stopped.changes["error"][1].startswith("Une erreur technique")
    text = text_of(regie_client.get(url("facturation", world, run.pk)))
    assert "Interrompue : à reprendre" in text and "Une erreur technique" in text
    assert "s'est arrêtée après 2 familles sur 5" in text

    monkeypatch.setattr(services_runs, "_insert_lines", real)
    with django_capture_on_commit_callbacks(execute=True):
        response = regie_client.post(url("facturation", world, run.pk), {"action": "reprendre"})
    assert response.status_code == 302 and response.url == url("facturation", world, run.pk)
    run.refresh_from_db()
    monthly = Invoice.objects.filter(kind=InvoiceKind.MENSUELLE).order_by("number")
    assert list(monthly.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert sorted(monthly.values_list("famille_id", flat=True)) == sorted(f.pk for f in created)
    # Family i: i + 1 meals at 4,15 €, to the cent.
    assert {invoice.famille_id: invoice.total for invoice in monthly} == {
        famille.pk: D("4.15") * (index + 1) for index, famille in enumerate(created)
    }
    assert (run.status, run.invoice_count, run.total, run.error) == (
        Status.TERMINEE,
        5,
        D("62.25"),
        "",
    )
    assert (run.families_done, run.families_total) == (5, 5)
    resumed = AuditEntry.objects.get(action="facturation.reprise")
    assert resumed.actor_id == agent.pk
    assert resumed.changes["families_done"] == [None, 2]
    # Resuming a finished run does nothing.
    with django_capture_on_commit_callbacks() as queued:
        again = regie_client.post(
            url("facturation", world, run.pk), {"action": "reprendre"}, follow=True
        )
    assert queued == [] and "Cette facturation est terminée : rien à reprendre." in text_of(again)


def test_a_double_click_makes_one_run_and_one_task(
    regie_client, world, django_capture_on_commit_callbacks
):
    families(world, 2)
    with django_capture_on_commit_callbacks() as queued:
        emettre(regie_client, world)
        second = emettre(regie_client, world)
        resumed = regie_client.post(
            url("facturation", world, InvoicingRun.objects.get().pk), {"action": "reprendre"}
        )
    assert len(queued) == 1 and InvoicingRun.objects.count() == 1
    run = InvoicingRun.objects.get()
    assert second.url == resumed.url == url("facturation", world, run.pk)
    text = text_of(regie_client.get(second.url))
    assert "La facturation de novembre 2026 est déjà en cours" in text
    queued[0]()
    assert Invoice.objects.count() == 2


def test_a_stale_run_is_queued_again_by_reprendre(
    regie_client, world, django_capture_on_commit_callbacks
):
    families(world, 2)
    with django_capture_on_commit_callbacks():
        emettre(regie_client, world)  # its task lost with its worker
    run = InvoicingRun.objects.get()
    with (
        time_machine.travel(timezone.now() + services_runs.STALE_AFTER, tick=False),
        django_capture_on_commit_callbacks(execute=True) as queued,
    ):
        regie_client.post(url("facturation", world, run.pk), {"action": "reprendre"})
    assert len(queued) == 1
    run.refresh_from_db()
    assert (run.status, run.invoice_count) == (Status.TERMINEE, 2)


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_make_one_run():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    world = make_world()
    families(world, 2)
    start, results, errors = threading.Barrier(2), [], []
    queued = []

    def click():
        try:
            start.wait()
            results.append(services_runs.start_run(regie=world.regie, month=NOV, actor=None))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    real = services_runs.enqueue_on_commit
    services_runs.enqueue_on_commit = lambda task, **kwargs: queued.append(kwargs)
    try:
        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        services_runs.enqueue_on_commit = real
    assert errors == []
    assert InvoicingRun.objects.count() == 1
    assert sorted(queued_ for _run, queued_ in results) == [False, True]
    assert len(queued) == 1


# --- Scope, PDFs, queries ------------------------------------------------------------------------


def test_another_communes_agent_gets_404(client, world, django_capture_on_commit_callbacks):
    families(world, 1)
    with django_capture_on_commit_callbacks():
        run, _queued = services_runs.start_run(regie=world.regie, month=NOV, actor=None)
    other = make_world(slug="autre-commune")
    client.force_login(make_agent(other.commune, AgentRole.Role.REGIE))
    address = reverse("guichet_regie:facturation", args=[other.commune.slug, run.pk])
    assert client.get(address).status_code == 404
    with django_capture_on_commit_callbacks() as queued:
        assert client.post(address, {"action": "reprendre"}).status_code == 404
    assert queued == []
    assert not AuditEntry.objects.filter(action="facturation.reprise").exists()


def test_the_page_then_follows_the_online_invoices_sent(
    regie_client, world, django_capture_on_commit_callbacks
):
    [durand, martin] = families(world, 2, paperless_invoice=True)
    PersonneFactory(famille=durand, email="durand@example.fr")
    PersonneFactory(famille=martin, email="martin@example.fr")
    run = services_runs.issue_run(regie=world.regie, month=NOV, actor=None)
    page = regie_client.get(url("facturation", world, run.pk))
    assert progress(page, "progression-envoi") == (0, 2) and "Refresh" not in page
    with django_capture_on_commit_callbacks() as queued:
        regie_client.post(url("facturation", world, run.pk), {"action": "envoyer"})
    page = regie_client.get(url("facturation", world, run.pk))
    assert progress(page, "progression-envoi") == (0, 2) and page["Refresh"] == "5"
    assert "L'envoi se poursuit en arrière-plan" in text_of(page)
    for task in queued:
        task()
    assert len(mail.outbox) == 2
    page = regie_client.get(url("facturation", world, run.pk))
    assert progress(page, "progression-envoi") == (2, 2) and "Refresh" not in page
    assert "2 sur 2" in text_of(page)


def test_a_chunk_costs_the_same_queries_whatever_its_families(world):
    families(world, 7)
    run, _queued = services_runs.start_run(regie=world.regie, month=NOV, actor=None)
    ids = invoicing.families_to_bill(regie=world.regie, month=NOV)
    today = timezone.localdate()

    def chunk(famille_ids):
        with CaptureQueriesContext(connection) as queries:
            services_runs._bill_chunk(run=run, famille_ids=famille_ids, actor=None, today=today)
        return len(queries)

    chunk(ids[:1])  # the first creates the régie's invoice sequence
    assert chunk(ids[1:3]) == chunk(ids[3:7])
    run.refresh_from_db()
    assert run.families_done == 7 and Invoice.objects.count() == 7


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_bills_the_run_the_click_queued(settings):
    """Production's path: the click only writes the run and its task; `db_worker --batch` bills
    it (the task found by its path, its arguments JSON)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = make_world()
    families(world, 3)
    run, queued = services_runs.start_run(regie=world.regie, month=NOV, actor=None)
    assert queued and not Invoice.objects.exists()
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "parvis.billing.services_runs.issue_run_task"
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    run.refresh_from_db()
    assert (run.status, run.invoice_count, run.total) == (Status.TERMINEE, 3, D("24.90"))
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
