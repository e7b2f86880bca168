"""The reads of the families' pages: only the account's own children, in few queries."""

from datetime import datetime

import pytest

from parvis.activities import selectors
from parvis.activities.models import InscriptionStatus
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
