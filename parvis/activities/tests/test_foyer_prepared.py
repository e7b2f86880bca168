"""The household grid's reads, their SQL compiled once (parvis.communes.prepared, issue 23): two
communes whose households have the same shapes (two children, the same activities and units, a
shared child, bookings, closures, full days), read in turn: each commune, each account, gets its
own rows and never another's, whichever commune compiled the statements."""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities import selectors, selectors_foyer, services
from parvis.activities.models import ActivityClosure, BookingStatus, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.selectors_foyer import grid, household
from parvis.activities.tests.factories import make_activity, register
from parvis.communes import tenancy
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import SharedCustody
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
START, END = date(2026, 11, 1), date(2026, 11, 30)


def world(name: str) -> dict:
    commune = CommuneFactory(slug=name)
    famille = FamilleFactory(commune=commune, name=name.upper(), number=1)
    other = FamilleFactory(commune=commune, name=f"AUTRE {name.upper()}", number=2)
    lea = ChildFactory(famille=famille, first_names=f"Léa {name}", birth_date=date(2021, 3, 1))
    hugo = ChildFactory(famille=famille, first_names=f"Hugo {name}", birth_date=date(2022, 5, 1))
    shared = ChildFactory(famille=other, first_names=f"Zoé {name}", birth_date=date(2020, 1, 1))
    SharedCustody.objects.create(
        commune=commune, child=shared, other_famille=famille, rule="semaines_paires",
        since=date(2026, 9, 1),
    )  # fmt: skip
    user = FamilyAccessFactory(famille=famille).user
    peri = make_activity(commune, capacity=1)
    cantine = make_activity(commune, name="Restauration scolaire", slug="cantine")
    for child, activity in [(lea, peri), (lea, cantine), (hugo, cantine), (shared, peri)]:
        register(child, activity)
    matin = peri.units.get()
    Reservation.objects.create(
        commune=commune, famille=famille, child=lea, unit=matin, day=date(2026, 11, 26),
        status=BookingStatus.RESERVEE,
    )  # fmt: skip
    UnitDay.objects.create(commune=commune, unit=matin, day=date(2026, 11, 26), taken=1)
    ActivityClosure.objects.create(
        commune=commune, activity=None, day=date(2026, 11, 27), reason=f"Fermé {name}"
    )
    units = {u.pk for a in (peri, cantine) for u in a.units.all()}
    children = {lea.pk, hugo.pk, shared.pk}
    return {"commune": commune, "user": user, "children": children, "units": units, "matin": matin}


def read(w: dict):
    house = household(user=w["user"], commune=w["commune"])
    return house, grid(household=house, now=NOW, start=START, end=END, today=NOW.date())


def test_each_commune_reads_its_own_household_and_grid_whichever_compiled_first():
    a, b = world("alpha"), world("beta")
    for w in (a, b, a, b):
        with tenancy.scope(w["commune"].pk):
            house, cells = read(w)
        assert {line.child.pk for line in house.lines} == w["children"]
        assert {line.child.commune_id for line in house.lines} == {w["commune"].pk}
        assert {line.activity.commune_id for line in house.lines} == {w["commune"].pk}
        assert {u.pk for line in house.lines for u in line.units} == w["units"]
        assert {ident[0] for ident in cells.cells} == w["children"]
        assert {ident[1] for ident in cells.cells} == w["units"]
        booked = [ident for ident, cell in cells.cells.items() if cell.booked]
        assert [(unit, day) for _child, unit, day in booked] == [
            (w["matin"].pk, date(2026, 11, 26))
        ]
        # Its own closure (not the other commune's) and its own full day.
        rules = next(iter(cells.rules.values()))
        assert rules.closures == {date(2026, 11, 27): f"Fermé {w['commune'].slug}"}
        assert rules.full == {(w["matin"].pk, date(2026, 11, 26))}


def test_no_statement_reads_another_communes_id():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        read(a)  # compiled in A
    with tenancy.scope(b["commune"].pk), CaptureQueriesContext(connection) as queries:
        read(b)
    assert len(queries) == 6  # families, inscriptions, units, closures, bookings, full days
    for prepared in (
        selectors_foyer._LINKED, selectors_foyer._INSCRIPTIONS, selectors_foyer._UNITS,
        services._CLOSURES, selectors_foyer._BOOKINGS, selectors._TAKEN,
    ):  # fmt: skip
        assert any(prepared._local.compiled.values()), prepared  # compiled, not refused
    for query in queries:
        assert f"= {a['commune'].pk}" not in query["sql"].replace(f"= {a['commune'].pk}0", "")
        assert f"= {b['commune'].pk}" in query["sql"]


def test_an_account_of_another_commune_or_without_families_reads_nothing():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(b["commune"].pk):
        read(b)
        assert household(user=a["user"], commune=b["commune"]).lines == []
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=b["commune"], number=9)).user
    with tenancy.scope(b["commune"].pk):
        assert household(user=stranger, commune=b["commune"]).lines == []


def test_without_a_scope_the_commune_given_is_the_one_read():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        read(a)
    house, cells = read(b)  # no current commune: `commune` is the scope of the reads
    assert {line.child.pk for line in house.lines} == b["children"]
    assert {ident[0] for ident in cells.cells} == b["children"]
