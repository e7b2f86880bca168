"""Demo billing data of Carrières-sous-Poissy (issue 7, its foundation): the « Régie enfance »
billing the demo activities (parvis/activities/demo.py, which it needs), a tariff for each unit
from the activity's first day, and the commune's penalty and credit rules. Idempotent: rows are
found by their natural keys and set to the figures below, so loading again changes nothing.

- « Repas » (REPAS): 8 QF brackets, Roncq 2025's meal (0,50 € under 400 € … 4,90 € above
  1900 €, the middle brackets made up for the demo), 5,90 € for non-residents, 10 % off for the
  2nd child and 20 % from the 3rd;
- « Acc Matin » and « Acc Soir »: flat, 1,20 € and 2,10 €;
- « Journée » of the Wednesdays (ALSH_MER): an effort rate, 0,80 % of the QF between 4,00 €
  and 14,00 €;
- a presence without booking +50 %, an unjustified absence 50 % of the price (on top of the
  booked day, still billed), 3,00 € for a late pick-up, and a justified absence deducted at
  100 %."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from django.db import transaction
from django.utils import timezone

from parvis.activities.models import Activity, Unit
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

SLUG = "carrieres-sous-poissy"
REGIE = {
    "name": "Régie enfance",
    "payee": "Régie enfance de Carrières-sous-Poissy",
    "address": (
        "Hôtel de Ville — Régie centrale\n1, place Saint-Blaise\n78955 Carrières-sous-Poissy"
    ),
    "email": "regie@carrieres-sous-poissy.fr",
    "phone": "01 39 22 36 27",
}
REGIE_CODE = "ENF"

# Roncq 2025's meal: 0,50 € under 400 € … 4,90 € above 1900 € (middle brackets made up); the
# benchmark (billing/bench.py) prices with the same.
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
NO_TARIFF_FIELDS = {
    "price": None, "effort_rate": None, "minimum": None, "maximum": None,
    "non_resident_price": None, "second_child_discount": D(0), "third_child_discount": D(0),
    "childcare": True,
}  # fmt: skip
TARIFFS = {
    "REPAS": {
        "kind": TariffKind.QF_BRACKETS, "non_resident_price": D("5.90"),
        "second_child_discount": D(10), "third_child_discount": D(20),
        "childcare": False,  # meals are not childcare for the tax credit
    },
    "PERI_AM_M": {"kind": TariffKind.FLAT, "price": D("1.20")},
    "PERI_PM_M": {"kind": TariffKind.FLAT, "price": D("2.10")},
    "ALSH_MER": {
        "kind": TariffKind.EFFORT_RATE, "effort_rate": D("0.80"), "minimum": D("4.00"),
        "maximum": D("14.00"),
    },
}  # fmt: skip
PENALTIES = [
    (PenaltyKind.PRESENCE_SANS_RESERVATION, {"amount": None, "percent": D(50)}),
    (PenaltyKind.ABSENCE_NON_JUSTIFIEE, {"amount": None, "percent": D(50)}),
    (PenaltyKind.RETARD_SOIR, {"amount": D("3.00"), "percent": None}),
    (PenaltyKind.ABSENCE_JUSTIFIEE, {"amount": None, "percent": D(100)}),
]


# Carrières-sur-Seine (seed 003): its « Régie » bills the MARTIN family's activities, flat.
SLUG_CSS = "carrieres-sur-seine"
REGIE_CSS = {
    "name": "Régie Scolaire-Enfance-Jeunesse",
    "payee": "Régie Scolaire-Enfance-Jeunesse de Carrières-sur-Seine",
    "address": "Hôtel de Ville — Régie\n1, rue Victor-Hugo\n78420 Carrières-sur-Seine",
    "email": "regie@carrieres-sur-seine.fr",
    "phone": "01 30 86 89 35",
}
REGIE_CSS_CODE = "SEJ"
TARIFFS_CSS = {
    "REPAS": {"kind": TariffKind.FLAT, "price": D("4.10"), "childcare": False},
    "GARD_AM": {"kind": TariffKind.FLAT, "price": D("1.50")},
    "GARD_PM": {"kind": TariffKind.FLAT, "price": D("2.40")},
}


def _tariff(unit: Unit, fields: dict) -> Tariff:
    tariff, _created = Tariff.objects.update_or_create(
        unit=unit,
        valid_from=unit.activity.start,
        defaults={**NO_TARIFF_FIELDS, **fields, "commune": unit.commune},
    )
    brackets = MEAL_BRACKETS if tariff.kind == TariffKind.QF_BRACKETS else []
    for qf_min, price in brackets:
        TariffBracket.objects.update_or_create(
            tariff=tariff, qf_min=qf_min, defaults={"price": price, "commune": unit.commune}
        )
    tariff.brackets.exclude(qf_min__in=[qf_min for qf_min, _price in brackets]).delete()
    return tariff


def _load_carrieres_sur_seine() -> Regie:
    commune = Commune.objects.get(slug=SLUG_CSS)
    regie, _created = Regie.objects.update_or_create(
        commune=commune, code=REGIE_CSS_CODE, defaults=REGIE_CSS
    )
    activities = list(Activity.objects.filter(commune=commune))
    for activity in activities:
        RegieActivity.objects.get_or_create(
            activity=activity, defaults={"regie": regie, "commune": commune}
        )
    units = Unit.objects.filter(activity__in=activities, code__in=TARIFFS_CSS)
    for unit in units.select_related("activity", "commune"):
        _tariff(unit, TARIFFS_CSS[unit.code])
    return regie


@transaction.atomic
def load(today: date | None = None) -> Regie:
    today = today or timezone.localdate()
    commune = Commune.objects.get(slug=SLUG)
    regie, _created = Regie.objects.update_or_create(
        commune=commune, code=REGIE_CODE, defaults=REGIE
    )
    activities = list(Activity.objects.filter(commune=commune))
    for activity in activities:
        # An activity another régie bills (changed in the admin) stays with it.
        RegieActivity.objects.get_or_create(
            activity=activity, defaults={"regie": regie, "commune": commune}
        )
    units = Unit.objects.filter(activity__in=activities, code__in=TARIFFS)
    for unit in units.select_related("activity", "commune"):
        _tariff(unit, TARIFFS[unit.code])
    # The rules hold from the school year the demo activities run (or from today without them).
    valid_from = min((activity.start for activity in activities), default=today)
    for kind, fields in PENALTIES:
        PenaltyRule.objects.update_or_create(
            commune=commune, activity=None, kind=kind, valid_from=valid_from, defaults=fields
        )
    _load_carrieres_sur_seine()
    return regie
