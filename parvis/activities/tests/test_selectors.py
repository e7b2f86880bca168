"""The reads of the families' pages: only the account's own children, in few queries."""

from datetime import date, datetime, time

import pytest

from parvis.activities import selectors
from parvis.activities.models import BookingStatus, InscriptionStatus, Reservation, Unit
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db


def test_children_inscriptions_are_the_accounts_own_in_two_queries(
    django_assert_num_queries,
):
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    peri = make_activity(commune)
    cantine = make_activity(commune, name="Restauration scolaire", slug="cantine")
    children = [ChildFactory(famille=famille) for _ in range(3)]
    for child in children:
        register(child, peri)
        register(child, cantine, status=InscriptionStatus.EN_ATTENTE)
    stranger = ChildFactory(famille=FamilleFactory(commune=commune))
    register(stranger, peri)
    with django_assert_num_queries(2):
        result = selectors.children_inscriptions(user=user, commune=commune)
        [i.activity.name for item in result for i in item.inscriptions]
    assert {item.child.pk for item in result} == {c.pk for c in children}
    assert all(len(item.accepted) == 1 for item in result)


def test_booking_target_is_none_for_anything_not_the_accounts():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    child = ChildFactory(famille=famille)
    make_activity(commune)
    elsewhere = make_activity(CommuneFactory(), slug="ailleurs")
    stranger = ChildFactory(famille=FamilleFactory(commune=commune))
    target = selectors.booking_target(
        user=user, commune=commune, activity_slug="peri-maternelle", child_pk=child.pk
    )
    assert target is not None and not target.registered
    for slug, pk in [("peri-maternelle", stranger.pk), (elsewhere.slug, child.pk),
                     ("peri-maternelle", "x")]:  # fmt: skip
        assert (
            selectors.booking_target(user=user, commune=commune, activity_slug=slug, child_pk=pk)
            is None
        )


def test_the_calendar_of_a_whole_period_has_a_row_per_week():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    child = ChildFactory(famille=famille)
    activity = make_activity(commune)
    register(child, activity)
    target = selectors.booking_target(
        user=user, commune=commune, activity_slug=activity.slug, child_pk=child.pk
    )
    cal = selectors.calendar(target=target, now=datetime(2026, 11, 20, 10, tzinfo=PARIS))
    assert len(cal.weeks) == 44  # 31/08/2026 … 28/06/2027
    assert cal.column_labels == ["lundi", "mardi", "jeudi", "vendredi"]
    assert all(len(week.days) == 4 for week in cal.weeks)


def test_unit_ids_are_the_activitys_own_in_one_query(django_assert_num_queries):
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    child = ChildFactory(famille=famille)
    activity = make_activity(commune)
    Unit.objects.create(
        commune=commune, activity=activity, code="PERI_SOIR", label="Acc Soir",
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 3, 4],
    )  # fmt: skip
    other = make_activity(commune, name="Restauration scolaire", slug="cantine")
    target = selectors.booking_target(
        user=user, commune=commune, activity_slug=activity.slug, child_pk=child.pk
    )
    with django_assert_num_queries(1):
        ids = selectors.unit_ids(target=target)
    assert ids == set(activity.units.values_list("pk", flat=True))
    assert len(ids) == 2 and not ids & set(other.units.values_list("pk", flat=True))


def test_offers_count_counts_the_accounts_offered_seats_in_the_commune_in_one_query(
    django_assert_num_queries,
):
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    activity = make_activity(commune)
    unit = activity.units.get()
    child = ChildFactory(famille=famille)
    stranger = ChildFactory(famille=FamilleFactory(commune=commune))
    elsewhere = ChildFactory(famille=FamilleFactory(commune=CommuneFactory()))
    FamilyAccessFactory(famille=elsewhere.famille, user=user)
    expires = datetime(2026, 11, 21, 10, tzinfo=PARIS)
    seats = [
        (child, date(2026, 12, 1), BookingStatus.PROPOSEE),
        (child, date(2026, 12, 3), BookingStatus.PROPOSEE),
        (child, date(2026, 12, 4), BookingStatus.LISTE_ATTENTE),
        (child, date(2026, 12, 7), BookingStatus.RESERVEE),
        (stranger, date(2026, 12, 1), BookingStatus.PROPOSEE),
        (elsewhere, date(2026, 12, 1), BookingStatus.PROPOSEE),  # the account's, another commune
    ]
    # A booking points to a unit of its own commune (composite foreign key on PostgreSQL).
    units = {commune.pk: unit, elsewhere.commune_id: make_activity(elsewhere.commune).units.get()}
    for person, day, status in seats:
        Reservation.objects.create(
            commune=person.commune, famille=person.famille, child=person,
            unit=units[person.commune_id], day=day, status=status,
            offer_expires_at=expires if status == BookingStatus.PROPOSEE else None,
        )  # fmt: skip
    with django_assert_num_queries(1):
        assert selectors.offers_count(user=user, commune=commune) == 2
    neighbour = FamilyAccessFactory(famille=stranger.famille).user
    assert selectors.offers_count(user=neighbour, commune=commune) == 1
