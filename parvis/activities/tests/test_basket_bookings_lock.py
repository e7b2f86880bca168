"""services.lock_basket_bookings, « Valider »'s read of the bookings its baskets change: on
PostgreSQL a statement written once, the same rows in the same order as the ORM's queryset
(written here) — only the children's, on the activities' units, on the days asked, of the
commune — and locked until the transaction ends."""

from datetime import date, time

import psycopg
import pytest
from django.db import connection, transaction

from parvis.activities.models import BookingStatus, Reservation, Unit
from parvis.activities.services import lock_basket_bookings
from parvis.activities.tests.factories import make_activity
from parvis.families.tests.factories import ChildFactory, FamilleFactory

DAYS = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3)]


def world():
    famille = FamilleFactory()
    commune = famille.commune
    first = make_activity(commune)
    second = make_activity(commune, slug="cantine", name="Cantine")
    evening = Unit.objects.create(
        commune=commune, activity=first, code="SOIR", label="Soir", starts_at=time(16, 30),
        ends_at=time(18, 0), weekdays=[0, 1, 3, 4], position=1,
    )  # fmt: skip
    children = [ChildFactory(famille=famille) for _ in range(2)]
    stranger = ChildFactory(famille=FamilleFactory(commune=commune))
    first.units.filter(code="PERI_AM_M").update(position=2)  # after the evening's
    units = [first.units.get(code="PERI_AM_M"), evening, second.units.get()]
    for child in [*children, stranger]:
        for unit in units:
            for day in DAYS:
                Reservation.objects.create(
                    commune=commune, famille=child.famille, child=child, unit=unit, day=day,
                    status=BookingStatus.RESERVEE,
                )  # fmt: skip
    other = FamilleFactory()  # another commune's booking, same days
    Reservation.objects.create(
        commune=other.commune, famille=other, child=ChildFactory(famille=other),
        unit=make_activity(other.commune).units.get(), day=DAYS[0], status=BookingStatus.RESERVEE,
    )  # fmt: skip
    return commune, children, first


def fields(rows):
    return [tuple(getattr(r, f.attname) for f in Reservation._meta.concrete_fields) for r in rows]


@pytest.mark.django_db
def test_the_rows_and_their_order_are_the_orms():
    commune, children, activity = world()
    child_ids, days = {c.pk for c in children}, {DAYS[0], DAYS[2]}
    with transaction.atomic():
        found = lock_basket_bookings(
            commune_id=commune.pk, child_ids=child_ids, activity_ids=(activity.pk,), days=days
        )
        expected = list(
            Reservation.objects.select_for_update(of=("self",)).filter(
                child_id__in=child_ids, unit__activity_id__in=[activity.pk], day__in=days
            )
        )
    assert len(found) == 2 * 2 * 2
    assert sorted(fields(found)) == sorted(fields(expected))
    # The lock order: by day, then the unit's position (the evening's first), as the ORM's.
    assert [(r.day, r.unit_id) for r in found] == [(r.day, r.unit_id) for r in expected]
    assert all(not r._state.adding for r in found)
    assert lock_basket_bookings(
        commune_id=commune.pk + 1000, child_ids=child_ids, activity_ids=(activity.pk,), days=days
    ) == []  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_rows_stay_locked_until_the_transaction_ends():
    commune, children, activity = world()
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
        dbname=settings["NAME"], password=settings["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip
    try:
        with transaction.atomic():
            (locked,) = lock_basket_bookings(
                commune_id=commune.pk, child_ids={children[0].pk}, activity_ids=(activity.pk,),
                days={DAYS[1]},
            )[:1]  # fmt: skip
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "SELECT 1 FROM activities_reservation WHERE id = %s FOR UPDATE NOWAIT",
                    [locked.pk],
                )
        other.execute(
            "SELECT 1 FROM activities_reservation WHERE id = %s FOR UPDATE NOWAIT", [locked.pk]
        )
    finally:
        other.close()
