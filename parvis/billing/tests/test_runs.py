"""Issuing the monthly run (billing/services_runs.py): one invoice per family with its lines,
numbered 1…N, sent by e-mail or on paper as the family chose; running it twice creates nothing;
a crash after half the families leaves the first chunks and rolls the failing one back, and the
re-run completes it without a gap; two runs at once (PostgreSQL) give distinct gap-free numbers;
a single invoice for a stay (« Séjour CT 3 (Ecole du PARC) », 73,80 €)."""

import threading
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from parvis.accounts.models import AuditEntry
from parvis.billing import services, services_runs
from parvis.billing.models import (
    Delivery,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    InvoicingRunStatus,
    LineKind,
)
from parvis.billing.tests.invoicing_factories import (
    NOV,
    NOV_DAYS,
    absence,
    book,
    child,
    family,
    make_world,
)
from parvis.families.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

ISSUED = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(date(2026, 12, 1), tick=False):
        yield


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def agent(world):
    return AgentFactory(commune=world.commune, roles=["regie"])


def families(world, count, *, paperless=()):
    created = []
    for index in range(count):
        famille = family(world, f"FAMILLE{index:02d}", paperless_invoice=index in paperless)
        book(child(world, famille, "Enfant", date(2017, 1, 1)), world.meal, NOV_DAYS[: index + 1])
        created.append(famille)
    return created


def numbers(world):
    return list(
        Invoice.objects.filter(regie=world.regie)
        .order_by("number")
        .values_list("number", flat=True)
    )


def test_a_run_bills_each_family_once_with_its_lines(world, agent):
    created = families(world, 3, paperless={1})
    idle = family(world, "SANSRIEN")  # nothing booked: no invoice

    run = services_runs.issue_run(regie=world.regie, month=NOV, actor=agent)

    invoices = list(Invoice.objects.filter(run=run).order_by("number"))
    assert [invoice.famille for invoice in invoices] == created
    assert idle.pk not in [invoice.famille_id for invoice in invoices]
    assert [invoice.number for invoice in invoices] == [1, 2, 3]
    assert [invoice.total for invoice in invoices] == [D("4.15"), D("8.30"), D("12.45")]
    assert [invoice.delivery for invoice in invoices] == [
        Delivery.PAPIER,
        Delivery.COURRIEL,
        Delivery.PAPIER,
    ]
    first = invoices[0]
    assert (first.kind, first.month, first.label, first.category) == (
        InvoiceKind.MENSUELLE,
        NOV,
        "Facture de novembre 2026",
        "RÉGIE ENFANCE",
    )
    assert (first.period_start, first.period_end) == (NOV, date(2026, 11, 30))
    assert (first.issued_on, first.due_on, first.status) == (
        ISSUED,
        date(2026, 12, 31),
        InvoiceStatus.A_REGLER,
    )
    line = first.lines.get()
    assert (line.kind, line.quantity, line.unit_price, line.amount, line.days) == (
        LineKind.PRESTATION,
        1,
        D("4.15"),
        D("4.15"),
        ["2026-11-02"],
    )
    assert list(first.history.values_list("from_status", "to_status", "actor")) == [
        ("", "a_regler", agent.pk)
    ]
    assert (run.status, run.invoice_count, run.total, run.started_by) == (
        InvoicingRunStatus.TERMINEE,
        3,
        D("24.90"),
        agent,
    )
    assert run.finished_at is not None
    assert AuditEntry.objects.filter(action="facturation.lot", target_id=str(run.pk)).count() == 1
    assert AuditEntry.objects.filter(action="facturation.terminee").count() == 1


def test_a_family_whose_month_is_fully_credited_gets_a_settled_invoice(world):
    famille = family(world, "CREDITEE")
    kid = child(world, famille, "Ana", date(2017, 1, 1))
    book(kid, world.am, NOV_DAYS[:2])
    absence(kid, NOV_DAYS[0], NOV_DAYS[1], justified=True)
    run = services_runs.issue_run(regie=world.regie, month=NOV, actor=None)
    invoice = run.invoices.get()
    assert (invoice.total, invoice.status) == (D("0.00"), InvoiceStatus.REGLEE)


def test_running_twice_creates_nothing(world, agent):
    families(world, 3)
    first = services_runs.issue_run(regie=world.regie, month=NOV, actor=agent)
    lines = InvoiceLine.objects.count()
    again = services_runs.issue_run(regie=world.regie, month=NOV, actor=agent)
    assert again.pk == first.pk
    assert numbers(world) == [1, 2, 3]
    assert InvoiceLine.objects.count() == lines
    assert InvoicingRun.objects.count() == 1
    assert AuditEntry.objects.filter(action="facturation.lot").count() == 1


def test_a_crash_after_half_the_families_then_a_rerun_gives_one_invoice_each(
    world, agent, monkeypatch
):
    created = families(world, 5)
    real_audit, calls = services_runs.audit, []

    def crash_on_the_second_chunk(**kwargs):
        calls.append(kwargs["action"])
        if calls.count("facturation.lot") == 2:
            raise RuntimeError("the server stops")
        return real_audit(**kwargs)

    monkeypatch.setattr(services_runs, "audit", crash_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        services_runs.issue_run(regie=world.regie, month=NOV, actor=agent, chunk_size=2)

    # Chunk 1 committed; chunk 2 rolled back whole, its numbers with it.
    run = InvoicingRun.objects.get()
    assert run.status == InvoicingRunStatus.EN_COURS
    assert numbers(world) == [1, 2]
    assert InvoiceLine.objects.filter(invoice__number__gt=2).count() == 0
    # A single invoice made meanwhile takes the next number.
    stay = services_runs.create_stay_invoice(
        regie=world.regie, famille=created[0], category="Classes transplantées",
        label="Séjour CT 3 (Ecole du PARC)", child=None, period_start=date(2026, 11, 9),
        period_end=date(2026, 11, 13), quantity=1, unit_price=D("73.80"), actor=agent,
    )  # fmt: skip
    assert stay.number == 3

    monkeypatch.setattr(services_runs, "audit", real_audit)
    run = services_runs.issue_run(regie=world.regie, month=NOV, actor=agent, chunk_size=2)

    monthly = Invoice.objects.filter(kind=InvoiceKind.MENSUELLE)
    assert sorted(monthly.values_list("famille_id", flat=True)) == sorted(f.pk for f in created)
    assert numbers(world) == [1, 2, 3, 4, 5, 6]
    assert (run.status, run.invoice_count, run.total) == (
        InvoicingRunStatus.TERMINEE,
        5,
        D("62.25"),  # 4,15 € × (1 + 2 + 3 + 4 + 5)
    )


def test_a_month_is_its_first_day_and_over(world):
    with pytest.raises(ValueError):
        services_runs.issue_run(regie=world.regie, month=date(2026, 11, 2), actor=None)
    with pytest.raises(ValidationError):  # the clock is 1 December: December is not over
        services_runs.issue_run(regie=world.regie, month=date(2026, 12, 1), actor=None)
    assert not InvoicingRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_and_a_single_invoice_at_once_give_distinct_gap_free_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    world = make_world()
    created = families(world, 6)
    start = threading.Barrier(3)
    errors = []

    def run_it():
        try:
            start.wait()
            services_runs.issue_run(regie=world.regie, month=NOV, actor=None, chunk_size=2)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def single():
        try:
            start.wait()
            services.create_invoice(
                regie=world.regie, famille=created[0], kind=InvoiceKind.UNIQUE, label="Séjour",
                period_start=NOV, period_end=NOV, issued_on=ISSUED, due_on=ISSUED, actor=None,
                lines=[services.LineData(kind=LineKind.SEJOUR, label="Séjour", quantity=1,
                                         unit_price=D("73.80"), amount=D("73.80"))],
            )  # fmt: skip
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=f) for f in (run_it, run_it, single)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert numbers(world) == list(range(1, 8))
    monthly = Invoice.objects.filter(kind=InvoiceKind.MENSUELLE)
    assert sorted(monthly.values_list("famille_id", flat=True)) == sorted(f.pk for f in created)
    assert InvoicingRun.objects.get().invoice_count == 6


# --- Single invoices -----------------------------------------------------------------------------


def test_a_stay_invoice_of_the_seed(world, agent):
    famille = family(world, "DURAND")
    hugo = child(world, famille, "Hugo", date(2017, 3, 2))
    invoice = services_runs.create_stay_invoice(
        regie=world.regie, famille=famille, category="Classes transplantées",
        label="Séjour CT 3 (Ecole du PARC)", child=hugo, period_start=date(2026, 11, 9),
        period_end=date(2026, 11, 13), quantity=5, unit_price=D("14.76"), actor=agent,
    )  # fmt: skip
    assert (invoice.kind, invoice.category, invoice.label, invoice.total, invoice.month) == (
        InvoiceKind.UNIQUE,
        "CLASSES TRANSPLANTÉES",
        "Séjour CT 3 (Ecole du PARC)",
        D("73.80"),
        None,
    )
    assert (invoice.issued_on, invoice.due_on, invoice.run) == (ISSUED, date(2026, 12, 31), None)
    line = invoice.lines.get()
    assert (line.kind, line.label, line.quantity, line.unit_price, line.amount) == (
        LineKind.SEJOUR,
        "Séjour CT 3 (Ecole du PARC) — Hugo DURAND",
        5,
        D("14.76"),
        D("73.80"),
    )
    assert (line.child_id, line.explanation, line.childcare) == (hugo.pk, "5 × 14,76 €", False)
    assert AuditEntry.objects.filter(action="facture.emise", target_id=str(invoice.pk)).exists()


def test_a_stay_invoice_refuses_bad_entries(world):
    famille, other = family(world, "DURAND"), family(world, "AUTRE")
    stranger = child(world, other, "Zoé", date(2017, 1, 1))
    with pytest.raises(ValidationError) as error:
        services_runs.create_stay_invoice(
            regie=world.regie, famille=famille, category="", label=" ", child=stranger,
            period_start=date(2026, 11, 13), period_end=date(2026, 11, 9), quantity=0,
            unit_price=D("1.005"), actor=None,
        )  # fmt: skip
    assert set(error.value.message_dict) == {
        "label",
        "period_end",
        "quantity",
        "unit_price",
        "child",
    }
    assert not Invoice.objects.exists()
