"""The one-child calendar's reads, their SQL compiled once (parvis.communes.prepared, issue 18
§4): two communes whose children have the same shapes (the same activity, units, a booking, a
closure, a full day), read in turn: each commune, each account, gets its own rows and never
another's, whichever commune compiled the statements."""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities import selectors, services
from parvis.activities.models import ActivityClosure, BookingStatus, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.selectors import booking_target, calendar
from parvis.activities.tests.factories import make_activity, register
from parvis.communes import tenancy
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import SharedCustody
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
PREPARED = (
    selectors._CHILD, selectors._ACTIVITY, selectors._INSCRIPTION, selectors._UNITS,
    services._CLOSURES, selectors._CHILD_BOOKINGS, selectors._TAKEN,
)  # fmt: skip


def world(name: str) -> dict:
    commune = CommuneFactory(slug=name)
    famille = FamilleFactory(commune=commune, name=name.upper(), number=1)
    other = FamilleFactory(commune=commune, name=f"AUTRE {name.upper()}", number=2)
    lea = ChildFactory(famille=famille, first_names=f"Léa {name}", birth_date=date(2021, 3, 1))
    shared = ChildFactory(famille=other, first_names=f"Zoé {name}", birth_date=date(2020, 1, 1))
    SharedCustody.objects.create(
        commune=commune, child=shared, other_famille=famille, rule="semaines_paires",
        since=date(2026, 9, 1),
    )  # fmt: skip
    user = FamilyAccessFactory(famille=famille).user
    peri = make_activity(commune, capacity=1)
    for child in (lea, shared):
        register(child, peri)
    matin = peri.units.get()
    Reservation.objects.create(
        commune=commune, famille=famille, child=lea, unit=matin, day=date(2026, 11, 26),
        status=BookingStatus.RESERVEE,
    )  # fmt: skip
    UnitDay.objects.create(commune=commune, unit=matin, day=date(2026, 11, 26), taken=1)
    UnitDay.objects.create(commune=commune, unit=matin, day=date(2026, 11, 24), taken=1)
    ActivityClosure.objects.create(
        commune=commune, activity=None, day=date(2026, 11, 27), reason=f"Fermé {name}"
    )
    return {
        "commune": commune, "user": user, "lea": lea, "shared": shared, "activity": peri,
        "matin": matin,
    }  # fmt: skip


def read(w: dict, child=None):
    child = child or w["lea"]
    target = booking_target(
        user=w["user"], commune=w["commune"], activity_slug="peri-maternelle", child_pk=child.pk
    )
    return target, calendar(target=target, now=NOW, window=(None, 4))


def test_each_commune_reads_its_own_child_and_calendar_whichever_compiled_first():
    a, b = world("alpha"), world("beta")
    for w in (a, b, a, b):
        with tenancy.scope(w["commune"].pk):
            target, cal = read(w)
        assert target.child.pk == w["lea"].pk
        assert target.activity.pk == w["activity"].pk
        assert target.registered and target.inscription.child_id == w["lea"].pk
        assert [u.pk for u in cal.units] == [w["matin"].pk]
        booked = [(c.unit.pk, c.day) for c in cal.cells() if c.booked]
        assert booked == [(w["matin"].pk, date(2026, 11, 26))]
        rules = next(c for c in cal.cells()).unit  # a unit of this commune
        assert rules.activity.commune_id == w["commune"].pk
        full = {(c.unit.pk, c.day) for c in cal.cells() if c.note}
        assert full == {(w["matin"].pk, date(2026, 11, 24))}
        closed = {c.day: c.reason for c in cal.cells() if c.day == date(2026, 11, 27)}
        assert closed == {
            date(2026, 11, 27): f"pas d'accueil : fermeture : Fermé {w['commune'].slug}"
        }


def test_no_statement_reads_another_communes_id():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        read(a)  # compiled in A
    with tenancy.scope(b["commune"].pk), CaptureQueriesContext(connection) as queries:
        read(b)
    # child, activity, inscription, units, closures, bookings, full days
    assert len(queries) == 7
    for prepared in PREPARED:
        assert any(prepared._local.compiled.values()), prepared  # compiled, not refused
    for query in queries:
        assert f"= {a['commune'].pk}" not in query["sql"].replace(f"= {a['commune'].pk}0", "")
        assert f"= {b['commune'].pk}" in query["sql"]


def test_another_communes_child_activity_or_account_is_none():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(b["commune"].pk):
        read(b)
        # A's child, A's account, in B: nothing, though the statements are compiled.
        assert (
            booking_target(
                user=b["user"],
                commune=b["commune"],
                activity_slug="peri-maternelle",
                child_pk=a["lea"].pk,
            )
            is None
        )
        assert (
            booking_target(
                user=a["user"],
                commune=b["commune"],
                activity_slug="peri-maternelle",
                child_pk=b["lea"].pk,
            )
            is None
        )
        assert (
            booking_target(
                user=b["user"], commune=b["commune"], activity_slug="autre", child_pk=b["lea"].pk
            )
            is None
        )
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=b["commune"], number=9)).user
    with tenancy.scope(b["commune"].pk):
        assert (
            booking_target(
                user=stranger,
                commune=b["commune"],
                activity_slug="peri-maternelle",
                child_pk=b["lea"].pk,
            )
            is None
        )


def test_the_shared_child_of_the_other_household_and_without_a_scope():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        read(a, a["shared"])
    target, cal = read(b, b["shared"])  # no current commune: `commune` is the scope
    assert target.child.pk == b["shared"].pk
    assert target.child.custody.other_famille_id == b["lea"].famille_id
    assert [u.pk for u in cal.units] == [b["matin"].pk]
