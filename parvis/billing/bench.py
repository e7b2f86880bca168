"""The billing part of the benchmark (../shared/BENCHMARK.md), called by `manage.py bench`: a
commune of N families with one month of bookings (the month before today), the régie, the
tariffs (the canteen by 8 QF brackets, a flat price per care slot) and the penalty rules, QFs
spread over the brackets, and in that month some unjustified and justified absences, presences
without booking and late pick-ups. Then the figures: the monthly invoicing run
(`invoicing_run_s`, `invoicing_ms_per_family`) and PDF invoices per second.

Everything is bulk-created: the benchmark measures the run, not the loading."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import date, timedelta
from decimal import Decimal as D

from django.utils import timezone

from parvis.activities import bench as activities_bench
from parvis.activities.models import (
    Absence,
    AbsenceReason,
    Attendance,
    BookingStatus,
    Reservation,
)
from parvis.billing.demo import MEAL_BRACKETS
from parvis.billing.models import (
    Invoice,
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.communes.dates import first_of_month, month_bounds
from parvis.families.models import Famille, Personne, QuotientFamilial

# The meal's brackets are the demo's (Roncq 2025's).
CARE_PRICES = {"ACC_MATIN": D("1.20"), "ACC_SOIR": D("2.10")}
QF_VALUES = [D(v) for v in ("250", "520", "780", "950", "1210", "1480", "1750", "2300")]
PDF_INVOICES = 30


def build_invoicing_commune(families: int, *, slug: str, build_commune) -> dict:
    """The commune, its families and one month of bookings, attendance and absences; returns
    the régie and the month to invoice. `build_commune` is the benchmark's reference commune
    builder (families of 2 or 3 children)."""
    today = timezone.localdate()
    first, last = month_bounds(first_of_month(today, -1))
    world = build_commune(families, slug=slug)
    commune = world["commune"]
    world.update(
        activities_bench.build_bookings(commune, world["service"], today, only=(first, last))
    )
    regie = add_billing(world, month=first)
    return {"regie": regie, "month": first, "families": families}


def add_billing(world: dict, *, month: date) -> Regie:
    """The régie of a bench commune built by the reference builder: its tariffs (the meal by
    QF brackets, the care slots flat), penalty rules, QFs and `month`'s registers and
    absences. Also used by make bench-scale for its reference and template communes."""
    commune = world["commune"]
    activity, units = world["activity"], world["units"]
    regie = Regie.objects.create(
        commune=commune, name="Régie enfance", code="ENF", payee="Régie enfance",
        address="1, place de la Mairie\n78000 Référence",
    )  # fmt: skip
    RegieActivity.objects.create(commune=commune, regie=regie, activity=activity)
    for unit in units:
        if unit.code == "RESTAURATION":
            tariff = Tariff.objects.create(
                commune=commune, unit=unit, valid_from=activity.start,
                kind=TariffKind.QF_BRACKETS, non_resident_price=D("5.90"),
                second_child_discount=D(10), third_child_discount=D(20), childcare=False,
            )  # fmt: skip
            TariffBracket.objects.bulk_create(
                TariffBracket(commune=commune, tariff=tariff, qf_min=qf_min, price=price)
                for qf_min, price in MEAL_BRACKETS
            )
        else:
            Tariff.objects.create(
                commune=commune, unit=unit, valid_from=activity.start, kind=TariffKind.FLAT,
                price=CARE_PRICES[unit.code],
            )  # fmt: skip
    for kind, fields in [
        (PenaltyKind.PRESENCE_SANS_RESERVATION, {"percent": D(50)}),
        (PenaltyKind.ABSENCE_NON_JUSTIFIEE, {"percent": D(50)}),
        (PenaltyKind.RETARD_SOIR, {"amount": D("3.00")}),
        (PenaltyKind.ABSENCE_JUSTIFIEE, {"percent": D(100)}),
    ]:
        PenaltyRule.objects.create(commune=commune, kind=kind, valid_from=activity.start, **fields)
    famille_ids = list(
        Famille.objects.filter(commune=commune).order_by("pk").values_list("pk", flat=True)
    )
    QuotientFamilial.objects.bulk_create(
        (
            QuotientFamilial(
                commune=commune,
                famille_id=pk,
                value=QF_VALUES[n % len(QF_VALUES)],
                source="caf",
                valid_from=activity.start,
                valid_until=activity.end,
            )
            for n, pk in enumerate(famille_ids)
            if n % 17  # one family in 17 has no QF: the highest price
        ),
        batch_size=5000,
    )
    _month_events(commune, units, *month_bounds(month))
    return regie


def _month_events(commune, units, first: date, last: date) -> None:
    """In the month: one child in 5 absent on one booked canteen day (justified one time in
    two), one in 7 present unbooked at the evening care once, one in 11 picked up late."""
    canteen = next(u for u in units if u.code == "RESTAURATION")
    evening = next(u for u in units if u.code == "ACC_SOIR")
    children = list(
        Personne.objects.filter(commune=commune, kind="enfant")
        .order_by("pk")
        .values_list("pk", "famille_id")
    )
    booked_canteen = {}
    for child_id, day in (
        Reservation.objects.filter(unit=canteen, day__range=(first, last))
        .order_by("day")
        .values_list("child_id", "day")
    ):
        booked_canteen.setdefault(child_id, day)
    evening_days = sorted(
        set(
            Reservation.objects.filter(unit=evening, day__range=(first, last)).values_list(
                "day", flat=True
            )
        )
    )
    unbooked_evening = [
        d for d in _weekdays(first, last, {2}) if d not in evening_days
    ]  # Wednesdays: the bench books the evening care Mon/Tue/Thu only
    attendance, absences = [], []
    for n, (child_id, famille_id) in enumerate(children):
        day = booked_canteen.get(child_id)
        if day is not None and n % 5 == 0:
            attendance.append(
                Attendance(commune=commune, famille_id=famille_id, child_id=child_id,
                           unit=canteen, day=day, present=False, booked=True)
            )  # fmt: skip
            if n % 10 == 0:
                absences.append(
                    Absence(commune=commune, famille_id=famille_id, child_id=child_id,
                            first_day=day, last_day=day, reason=AbsenceReason.MALADIE,
                            justified=True, justification="certificat médical")
                )  # fmt: skip
        if unbooked_evening and n % 7 == 0:
            attendance.append(
                Attendance(commune=commune, famille_id=famille_id, child_id=child_id,
                           unit=evening, day=unbooked_evening[0], present=True, booked=False)
            )  # fmt: skip
        if evening_days and n % 11 == 0:
            attendance.append(
                Attendance(commune=commune, famille_id=famille_id, child_id=child_id,
                           unit=evening, day=evening_days[0], present=True, booked=True,
                           late_pickup=True)
            )  # fmt: skip
    Attendance.objects.bulk_create(attendance, batch_size=5000, ignore_conflicts=True)
    Absence.objects.bulk_create(absences, batch_size=5000)


def _weekdays(first: date, last: date, weekdays: set[int]) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def measure_invoicing(world: dict) -> dict:
    """Issues the month's run once (preview excluded) and times it."""
    from parvis.billing.services_runs import issue_run

    start = time.perf_counter()
    run = issue_run(regie=world["regie"], month=world["month"], actor=None)
    elapsed = time.perf_counter() - start
    invoices = Invoice.objects.filter(run=run).count()
    lines = Reservation.objects.filter(
        commune=world["regie"].commune, status=BookingStatus.RESERVEE
    ).count()
    return {"seconds": elapsed, "invoices": invoices, "bookings": lines}


def measure_pdfs(regie, count: int = PDF_INVOICES) -> float:
    """Invoice PDFs rendered per second (pdf.invoice_pdf: ReportLab), after one warm-up
    rendering."""
    from parvis.billing.pdf import invoice_pdf

    invoices = list(
        Invoice.objects.filter(regie=regie)
        .select_related("famille", "regie", "commune")
        .order_by("number")[: count + 1]
    )
    invoice_pdf(invoices[0])
    start = time.perf_counter()
    for invoice in invoices[1:]:
        invoice_pdf(invoice)
    return (len(invoices) - 1) / (time.perf_counter() - start)


def measure_pdfs_batch(regie, count: int = PDF_INVOICES) -> float:
    """Invoice PDFs per second when a task renders its invoices together (pdf.invoice_pdfs: four
    queries, one PDF per invoice), after one warm-up batch."""
    from parvis.billing.pdf import invoice_pdfs

    invoices = list(Invoice.objects.filter(regie=regie).order_by("number")[: count + 1])
    invoice_pdfs(invoices[:1])
    start = time.perf_counter()
    rendered = invoice_pdfs(invoices[1:])
    return len(rendered) / (time.perf_counter() - start)


_CONTEXTS: list[dict] = []  # read by the forked workers of measure_pdfs_parallel


def _render(index: int) -> int:
    from parvis.billing import pdf_reportlab

    return len(pdf_reportlab.invoice(_CONTEXTS[index]))


def measure_pdfs_parallel(regie, count: int = PDF_INVOICES * 2) -> tuple[float, int]:
    """Invoice PDFs per second with one process per CPU, as task workers sending a run's
    invoices would render them (ReportLab is single-threaded and CPU-bound). The contexts are
    read before forking, so the workers do not touch the database."""
    from django.db import connections

    from parvis.billing.pdf import _invoice_queryset, invoice_context

    workers = os.cpu_count() or 1
    invoices = _invoice_queryset().filter(regie=regie).order_by("number")[:count]
    _CONTEXTS[:] = [invoice_context(invoice) for invoice in invoices]
    connections.close_all()  # PostgreSQL connections are not shared with forked children
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_render, range(min(workers, len(_CONTEXTS))))  # warm-up
        start = time.perf_counter()
        pool.map(_render, range(len(_CONTEXTS)))
        elapsed = time.perf_counter() - start
    return len(_CONTEXTS) / elapsed, workers
