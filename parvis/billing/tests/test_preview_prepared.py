"""The basket's price preview reads (billing.preview._read), their SQL compiled once
(parvis.communes.prepared, issue 23): two communes of the same shapes (a régie, a unit with QF
brackets and a sibling discount, a late-booking rule, a QF, an elder child's bookings, a younger
child's basket), each with its own prices, read in turn: each commune gets its own figures,
never another's, whichever commune compiled the statements."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import Reservation, Unit
from parvis.activities.pricing_hooks import BasketChange
from parvis.activities.rules import PARIS
from parvis.billing import preview as preview_module
from parvis.billing.models import PenaltyKind, PenaltyRule, Regie, RegieActivity
from parvis.billing.preview import basket_preview
from parvis.billing.tests.test_preview import make_unit, tariff
from parvis.communes import tenancy
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import QfSource, QuotientFamilial
from parvis.families.tests.factories import ChildFactory, FamilleFactory

pytestmark = pytest.mark.django_db

D = Decimal
# Friday 20 November 2026, 10:00: Monday 23's booking deadline (Friday 09:00) has passed.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
MONDAY_23 = date(2026, 11, 23)
DECEMBER = [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
PREPARED = (
    "_REGIES", "_ACTIVITIES", "_BOOKED", "_TARIFFS", "_BRACKETS", "_QUOTIENTS", "_BIRTHS",
    "_LATE_RULES",
)  # fmt: skip


def world(name: str, base: int) -> dict:
    """The DURAND family of commune `name`: Léa (born 2019) booked on Monday 23 and 1 December,
    Hugo (2021) whose basket adds Monday 23 (late) and 2, 3 December; the meal at `base` € under
    a QF of 500 €, `base` + 1 € above (the family's QF: 600 €), 10 % off the second child, a
    late booking `base` €."""
    commune = CommuneFactory(name="Carrières-sous-Poissy", postal_code="78955", slug=name)
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2019, 3, 1))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2021, 5, 1))
    repas = make_unit(commune, name="Restauration scolaire", slug="cantine", code="REPAS",
                      label="Repas")  # fmt: skip
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    RegieActivity.objects.create(commune=commune, regie=regie, activity=repas.activity)
    tariff(
        repas, brackets=[("0", f"{base}.00"), ("500", f"{base + 1}.00")],
        second_child_discount=D(10),
    )  # fmt: skip
    QuotientFamilial.objects.create(
        commune=commune, famille=famille, value=D(600), source=QfSource.CAF,
        valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31),
    )  # fmt: skip
    PenaltyRule.objects.create(
        commune=commune, kind=PenaltyKind.RESERVATION_TARDIVE, valid_from=date(2026, 9, 1),
        amount=D(base),
    )  # fmt: skip
    for day in (MONDAY_23, DECEMBER[0]):
        Reservation.objects.create(
            commune=commune, famille=famille, child=lea, unit=repas, day=day, status="reservee"
        )
    return {"commune": commune, "famille": famille, "hugo": hugo, "repas": repas, "base": base}


def estimate(w: dict) -> list:
    # The unit read again, its activity not loaded: the preview reads it (_ACTIVITIES).
    unit = Unit.objects.get(pk=w["repas"].pk)
    changes = [
        BasketChange(child=w["hugo"], unit=unit, day=day, added=True)
        for day in (MONDAY_23, *DECEMBER[1:])
    ]
    result = basket_preview(famille=w["famille"], commune=w["commune"], changes=changes, now=NOW)
    return [
        (
            month.month,
            month.before,
            month.after,
            [
                (line.kind, line.child, line.days, line.unit_price, line.amount)
                for line in month.lines
            ],
        )
        for month in result.months
    ]


def expected(base: int) -> list:
    price = D(base + 1)  # QF 600 €: the upper bracket
    hugo = price * D("0.9")  # the second child
    return [
        (
            date(2026, 11, 1), price, price + hugo + base,
            [
                ("ajout", "Hugo DURAND", 1, hugo, hugo),
                ("majoration", "Hugo DURAND", 1, D(base), D(base)),
            ],
        ),
        (date(2026, 12, 1), price, price + 2 * hugo, [("ajout", "Hugo DURAND", 2, hugo, 2 * hugo)]),
    ]  # fmt: skip


def test_each_commune_prices_its_own_basket_whichever_compiled_first():
    a, b = world("alpha", 1), world("beta", 3)
    for w in (a, b, a, b):
        with tenancy.scope(w["commune"].pk):
            assert estimate(w) == expected(w["base"])
    for name in PREPARED:
        prepared = getattr(preview_module, name)
        assert any(prepared._local.compiled.values()), name  # compiled, not refused


def test_eight_queries_none_naming_another_commune():
    a, b = world("alpha", 1), world("beta", 3)
    with tenancy.scope(a["commune"].pk):
        estimate(a)  # compiled in A
    with tenancy.scope(b["commune"].pk):
        unit = Unit.objects.get(pk=b["repas"].pk)
        changes = [
            BasketChange(child=b["hugo"], unit=unit, day=day, added=True)
            for day in (MONDAY_23, *DECEMBER[1:])
        ]
        with CaptureQueriesContext(connection) as queries:
            basket_preview(famille=b["famille"], commune=b["commune"], changes=changes, now=NOW)
    # régies, the unit's activity, bookings, tariffs, brackets, QFs, births, late rules
    assert len(queries) == 8
    for query in queries:
        assert f"= {a['commune'].pk}" not in query["sql"].replace(f"= {a['commune'].pk}0", "")
        assert f"= {b['commune'].pk}" in query["sql"]


def test_without_a_scope_the_commune_given_is_the_one_read():
    a, b = world("alpha", 1), world("beta", 3)
    with tenancy.scope(a["commune"].pk):
        estimate(a)
    assert estimate(b) == expected(3)  # no current commune: `commune` is the scope of the reads
    assert estimate(a) == expected(1)


def test_a_commune_whose_regie_bills_nothing_of_the_basket_reads_once():
    a, b = world("alpha", 1), world("beta", 3)
    with tenancy.scope(a["commune"].pk):
        estimate(a)
    RegieActivity.objects.filter(commune=b["commune"]).delete()
    with tenancy.scope(b["commune"].pk):
        unit = Unit.objects.get(pk=b["repas"].pk)
        changes = [BasketChange(child=b["hugo"], unit=unit, day=DECEMBER[1], added=True)]
        with CaptureQueriesContext(connection) as queries:
            result = basket_preview(
                famille=b["famille"], commune=b["commune"], changes=changes, now=NOW
            )
    assert result is None
    assert len(queries) == 1
    with tenancy.scope(a["commune"].pk):
        assert estimate(a) == expected(1)  # A's régie, read by the same statement
