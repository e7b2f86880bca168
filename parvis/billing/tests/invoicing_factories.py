"""A small commune to invoice, shared by the tests of the invoicing run, its guichet pages and
the warnings before penalties: the « Régie enfance » of Villebois bills an « Accueil
Périscolaire » (« Acc Matin » 1,20 €, « Acc Soir » 2,10 €, flat) and the « Restauration scolaire »
(« Repas » by 8 QF brackets, 0,50 € … 4,90 €, 5,90 € for non-residents, 10 % off the 2nd child,
20 % from the 3rd), with the commune's rules: a presence without booking +50 %, an unjustified
absence 50 %, a late pick-up 3,00 €, a justified absence deducted at 100 %.

Rows are created directly (bookings « réservée », register rows, absences): the computation
reads rows, it does not care how they were made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal as D

from parvis.activities.models import (
    Absence,
    AbsenceReason,
    Activity,
    Attendance,
    BookingStatus,
    Reservation,
    Unit,
)
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.billing.models import (
    PenaltyKind,
    PenaltyRule,
    Regie,
    RegieActivity,
    Tariff,
    TariffBracket,
    TariffKind,
)
from parvis.communes.models import Commune
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Famille, Personne, QfSource, QuotientFamilial
from parvis.families.tests.factories import ChildFactory, FamilleFactory

NOV = date(2026, 11, 1)
START = date(2026, 9, 1)  # the school year's tariffs and rules
# Mondays, Tuesdays, Thursdays and Fridays of November 2026: 17 days.
NOV_DAYS = [
    date(2026, 11, d) for d in (2, 3, 5, 6, 9, 10, 12, 13, 16, 17, 19, 20, 23, 24, 26, 27, 30)
]
MEAL_BRACKETS = [
    (D("0"), D("0.50")),
    (D("400"), D("1.35")),
    (D("700"), D("2.10")),
    (D("900"), D("2.75")),
    (D("1100"), D("3.30")),
    (D("1300"), D("3.75")),
    (D("1600"), D("4.15")),
    (D("1900.01"), D("4.90")),
]
EARLY = datetime(2026, 10, 1, 12, 0, tzinfo=PARIS)  # when the bookings were made


@dataclass
class World:
    commune: Commune
    regie: Regie
    peri: Activity
    canteen: Activity
    am: Unit
    pm: Unit
    meal: Unit

    def rule(self, kind: str, *, amount=None, percent=None, activity=None, valid_from=START):
        return PenaltyRule.objects.update_or_create(
            commune=self.commune,
            activity=activity,
            kind=kind,
            valid_from=valid_from,
            defaults={"amount": amount, "percent": percent},
        )[0]


def make_world(*, slug: str = "villebois", name: str = "Villebois", rules: bool = True) -> World:
    commune = CommuneFactory(name=name, slug=slug, postal_code="78955")
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    peri = make_activity(commune, slug="peri", name="Accueil Périscolaire")
    am = peri.units.get()
    pm = Unit.objects.create(
        commune=commune, activity=peri, code="PERI_PM_M", label="Acc Soir",
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 3, 4],
    )  # fmt: skip
    canteen = make_activity(commune, slug="restauration", name="Restauration scolaire")
    meal = canteen.units.get()
    meal.code, meal.label = "REPAS", "Repas"
    meal.starts_at, meal.ends_at = time(11, 30), time(13, 30)
    meal.save()
    for activity in (peri, canteen):
        RegieActivity.objects.create(commune=commune, regie=regie, activity=activity)
    flat(am, "1.20")
    flat(pm, "2.10")
    meals = Tariff.objects.create(
        commune=commune, unit=meal, valid_from=START, kind=TariffKind.QF_BRACKETS,
        non_resident_price=D("5.90"), second_child_discount=D(10), third_child_discount=D(20),
        childcare=False,
    )  # fmt: skip
    for qf_min, price in MEAL_BRACKETS:
        TariffBracket.objects.create(commune=commune, tariff=meals, qf_min=qf_min, price=price)
    world = World(commune, regie, peri, canteen, am, pm, meal)
    if rules:
        world.rule(PenaltyKind.PRESENCE_SANS_RESERVATION, percent=D(50))
        world.rule(PenaltyKind.ABSENCE_NON_JUSTIFIEE, percent=D(50))
        world.rule(PenaltyKind.RETARD_SOIR, amount=D("3.00"))
        world.rule(PenaltyKind.ABSENCE_JUSTIFIEE, percent=D(100))
    return world


def flat(unit: Unit, price: str, valid_from: date = START, **fields) -> Tariff:
    return Tariff.objects.create(
        commune=unit.commune, unit=unit, valid_from=valid_from, kind=TariffKind.FLAT,
        price=D(price), **fields,
    )  # fmt: skip


def family(world: World, name: str, *, qf: str | None = "1650.00", **fields) -> Famille:
    """A family living in the commune, with a QF valid all of 2026 (or none)."""
    fields.setdefault("city", world.commune.name)
    fields.setdefault("postal_code", "78955")
    famille = FamilleFactory(commune=world.commune, name=name, **fields)
    if qf is not None:
        quotient(famille, qf)
    return famille


def quotient(famille: Famille, value: str, start=date(2026, 1, 1), end=date(2026, 12, 31)):
    return QuotientFamilial.objects.create(
        commune=famille.commune, famille=famille, value=D(value), source=QfSource.AGENT,
        valid_from=start, valid_until=end,
    )  # fmt: skip


def child(world: World, famille: Famille, first: str, born: date, *activities) -> Personne:
    kid = ChildFactory(famille=famille, first_names=first, birth_date=born)
    for activity in activities or (world.peri, world.canteen):
        register(kid, activity)
    return kid


def book(kid: Personne, unit: Unit, days, *, status=BookingStatus.RESERVEE, at=EARLY):
    rows = Reservation.objects.bulk_create(
        Reservation(
            commune=kid.commune, famille=kid.famille, child=kid, unit=unit, day=day, status=status
        )
        for day in days
    )
    Reservation.objects.filter(pk__in=[r.pk for r in rows]).update(queued_at=at)
    return rows


def tick(kid: Personne, unit: Unit, day: date, *, present: bool, late: bool = False):
    booked = Reservation.objects.filter(
        child=kid, unit=unit, day=day, status=BookingStatus.RESERVEE
    ).exists()
    return Attendance.objects.create(
        commune=kid.commune, famille=kid.famille, child=kid, unit=unit, day=day,
        present=present, booked=booked, late_pickup=late,
    )  # fmt: skip


def absence(kid: Personne, first: date, last: date | None = None, *, justified: bool):
    return Absence.objects.create(
        commune=kid.commune, famille=kid.famille, child=kid, first_day=first,
        last_day=last or first, reason=AbsenceReason.MALADIE, justified=justified,
    )  # fmt: skip
