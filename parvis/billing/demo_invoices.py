"""Demo invoices of Carrières-sous-Poissy (issue 7), after parvis/billing/demo.py (the régie and
its tariffs) and parvis/activities/demo.py (the DURAND children's registrations):

- the seed's « CLASSES TRANSPLANTÉES — 7916 - Séjour CT 3 (Ecole du PARC) », settled by card
  for 73,80 € (4 days at 18,45 €, last spring);
- last month's invoice of the DURAND family, due: Léa's and Hugo's canteen days of last month
  and Léa's Monday and Tuesday mornings, with one justified absence (credited) and one
  unjustified absence (the 50 % penalty), issued by the régie's own monthly run;
- the commune pays online through the built-in simulator;
- Carrières-sur-Seine (seed 003): last month's invoice of the MARTIN family (Jules's meals and
  mornings), due, from its « Régie Scolaire-Enfance-Jeunesse »'s run; paid through the simulator.

The past bookings are written directly (the booking rules refuse past days, rightly). Idempotent:
the stay invoice is found by its label, last month's bookings by the children and month, and the
run bills only families without an invoice for the month."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import AuditEntry
from parvis.activities import services_absences
from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    Absence,
    AbsenceReason,
    Attendance,
    Reservation,
    Unit,
)
from parvis.activities.reservations import load_booked
from parvis.billing import demo_plans, services_runs
from parvis.billing.demo import REGIE_CODE, REGIE_CSS_CODE, SLUG, SLUG_CSS
from parvis.billing.invoicing import month_bounds, previous_month
from parvis.billing.models import (
    Invoice,
    InvoicingRun,
    PaymentMethod,
    Regie,
    Sequence,
    SequenceKind,
)
from parvis.billing.services import record_payment
from parvis.communes.models import Commune
from parvis.families.demo import PETIT_NUMBER
from parvis.families.demo_documents import pdf_bytes
from parvis.families.models import Document, Famille, FamilyAccess, MemberKind, Personne

PARIS = ZoneInfo("Europe/Paris")

STAY = {
    "category": "CLASSES TRANSPLANTÉES",
    "label": "Séjour CT 3 (Ecole du PARC)",
    "number": 7916,
    "days": 4,
    "price": D("18.45"),  # 4 × 18,45 € = 73,80 €
}


def _stay(regie: Regie, famille: Famille, lea: Personne, today: date) -> Invoice:
    found = Invoice.objects.filter(regie=regie, famille=famille, label=STAY["label"]).first()
    if found is not None:
        return found
    sequence, _created = Sequence.objects.get_or_create(
        commune=regie.commune, regie=regie, kind=SequenceKind.FACTURE
    )
    if sequence.last_number < STAY["number"] - 1:
        sequence.last_number = STAY["number"] - 1
        sequence.save(update_fields=["last_number"])
    spring = date(today.year if today.month > 5 else today.year - 1, 5, 11)
    monday = spring + timedelta(days=(7 - spring.weekday()) % 7)
    invoice = services_runs.create_stay_invoice(
        regie=regie, famille=famille, category=STAY["category"], label=STAY["label"], child=lea,
        period_start=monday, period_end=monday + timedelta(days=STAY["days"] - 1),
        quantity=STAY["days"], unit_price=STAY["price"], actor=None,
    )  # fmt: skip
    # An invoice of last spring: issued before the stay, paid by card the week after.
    Invoice.objects.filter(pk=invoice.pk).update(
        issued_on=monday - timedelta(days=21), due_on=monday - timedelta(days=1)
    )
    record_payment(
        regie=regie, famille=famille, allocations=[(invoice, invoice.total)],
        method=PaymentMethod.CARTE, received_on=monday - timedelta(days=14), actor=None,
        reference="Paiement en ligne (démonstration)",
        transaction_reference=f"DEMO-CT3-{invoice.number}", send_receipt=False,
    )  # fmt: skip
    return invoice


def _open_days(unit: Unit, first: date, last: date) -> list[date]:
    activity = unit.activity
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        day
        for day in days
        if closed_reason(
            day,
            zone=activity.commune.holiday_zone,
            weekdays=unit.weekdays,
            during=activity.runs,
            start=activity.start,
            end=activity.end,
        )
        is None
    ]


def _last_month(commune: Commune, famille: Famille, children: dict, month: date) -> None:
    """Books last month's days of Léa and Hugo, and records two absences of the canteen."""
    first, last = month_bounds(month)
    units = {
        u.code: u
        for u in Unit.objects.filter(commune=commune).select_related("activity", "commune")
    }
    if (
        "REPAS" not in units
        or Reservation.objects.filter(famille=famille, day__range=(first, last)).exists()
    ):
        return
    plan = [(children["Léa"], units["REPAS"], {0, 1, 3, 4}),
            (children["Hugo"], units["REPAS"], {0, 1, 3, 4})]  # fmt: skip
    if "PERI_AM_M" in units:
        plan.append((children["Léa"], units["PERI_AM_M"], {0, 1}))
    bookings = [
        Reservation(commune=commune, famille=famille, child=child, unit=unit, day=day)
        for child, unit, weekdays in plan
        for day in _open_days(unit, first, last)
        if day.weekday() in weekdays
    ]  # fmt: skip
    load_booked(bookings)  # « réservée », with their seat counters
    meals = sorted(b.day for b in bookings if b.unit.code == "REPAS" and b.child == children["Léa"])
    if len(meals) < 2:
        return
    lea, hugo, repas = children["Léa"], children["Hugo"], units["REPAS"]
    absence = Absence.objects.create(
        commune=commune, famille=famille, child=lea, first_day=meals[0], last_day=meals[0],
        reason=AbsenceReason.MALADIE, justified=True,
        justification="certificat médical reçu dans les 72 heures",
    )  # fmt: skip
    _certificate(absence)
    for child, day in ((lea, meals[0]), (hugo, meals[1])):
        Attendance.objects.create(
            commune=commune, famille=famille, child=child, unit=repas, day=day,
            present=False, booked=True,
        )  # fmt: skip


def _nina_last_month(commune: Commune, month: date) -> None:
    """Nina ROBERT's meals of last month, every open day (issue 19 §2: her parents share her
    custody, families/demo.py and activities/demo.py): the run bills each parent's household
    its own weeks at its own QF."""
    nina = Personne.objects.filter(
        commune=commune, famille__number=PETIT_NUMBER, kind=MemberKind.ENFANT, first_names="Nina"
    ).first()
    repas = Unit.objects.filter(commune=commune, code="REPAS").select_related("activity").first()
    first, last = month_bounds(month)
    if (
        nina is None
        or repas is None
        or Reservation.objects.filter(child=nina, day__range=(first, last)).exists()
    ):
        return
    load_booked(
        [
            Reservation(commune=commune, famille=nina.famille, child=nina, unit=repas, day=day)
            for day in _open_days(repas, first, last)
        ]
    )


def _martin_last_month(commune: Commune, famille: Famille, month: date) -> None:
    """Carrières-sur-Seine (seed 003): Jules MARTIN's meals and Monday and Tuesday mornings of
    last month, so its régie's run leaves the family an invoice to pay."""
    first, last = month_bounds(month)
    units = {
        u.code: u
        for u in Unit.objects.filter(commune=commune).select_related("activity", "commune")
    }
    jules = Personne.objects.filter(famille=famille, kind=MemberKind.ENFANT).first()
    if (
        jules is None
        or not {"REPAS", "GARD_AM"} <= units.keys()
        or Reservation.objects.filter(famille=famille, day__range=(first, last)).exists()
    ):
        return
    plan = [(units["REPAS"], {0, 1, 3, 4}), (units["GARD_AM"], {0, 1})]
    load_booked([
        Reservation(commune=commune, famille=famille, child=jules, unit=unit, day=day)
        for unit, weekdays in plan
        for day in _open_days(unit, first, last)
        if day.weekday() in weekdays
    ])  # fmt: skip


def _load_carrieres_sur_seine(today: date) -> InvoicingRun | None:
    commune = Commune.objects.get(slug=SLUG_CSS)
    regie = Regie.objects.filter(commune=commune, code=REGIE_CSS_CODE).first()
    if regie is None:
        return None
    month = previous_month(today)
    _martin_last_month(commune, Famille.objects.get(commune=commune, number=1), month)
    return services_runs.issue_run(regie=regie, month=month, actor=None)


def _certificate(absence: Absence) -> None:
    """The certificate its justification speaks of: a real file, sent from the phone the next
    morning through the family's own service (stored, linked, audited)."""
    access = FamilyAccess.objects.filter(famille=absence.famille).select_related("user").first()
    if access is None:
        return
    day = absence.first_day
    upload = SimpleUploadedFile(
        "certificat-medical.pdf",
        pdf_bytes("Certificat medical", f"{absence.child} - absence du {day:%d/%m/%Y}"),
        content_type="application/pdf",
    )
    received = datetime.combine(day + timedelta(days=1), time(8, 30), tzinfo=PARIS)
    services_absences.add_certificate(
        absence=absence, upload=upload, actor=access.user, now=received
    )
    # Declared that morning, the file deposited when it was received — not on the day of the
    # load, which would come after both.
    Absence.objects.filter(pk=absence.pk).update(
        declared_at=datetime.combine(day, time(7, 45), tzinfo=PARIS)
    )
    absence.refresh_from_db(fields=["certificate"])
    Document.objects.filter(pk=absence.certificate_id).update(uploaded_at=received)
    # The family journal says it then too (the log dates its rows when written).
    AuditEntry.objects.filter(
        action="absence.certificate", target_type="absence", target_id=str(absence.pk)
    ).update(at=received)


@transaction.atomic
def load(today: date | None = None) -> dict:
    today = today or timezone.localdate()
    commune = Commune.objects.get(slug=SLUG)
    regie = Regie.objects.get(commune=commune, code=REGIE_CODE)
    famille = Famille.objects.get(commune=commune, number=1)
    children = {
        child.first_names: child
        for child in Personne.objects.filter(famille=famille, kind=MemberKind.ENFANT)
    }
    stay = _stay(regie, famille, children["Léa"], today)
    month = previous_month(today)
    _last_month(commune, famille, children, month)
    _nina_last_month(commune, month)
    run = services_runs.issue_run(regie=regie, month=month, actor=None)
    plan_invoice = demo_plans.load(regie, today)  # after the run: its numbers stay the seed's
    return {
        "stay": stay,
        "run": run,
        "run_css": _load_carrieres_sur_seine(today),
        "plan_invoice": plan_invoice,
    }
