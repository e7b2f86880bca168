"""The household grid's children among a commune's (make bench-scale, README « A thousand
communes »): its inscriptions are read by the household's children — its families' own and the
shared ones it is the other household of — as one union of two lookups, never by an OR across
the custody's outer join, which read every inscription of the commune (EXPLAIN on 1,000
communes: 500 rows read and filtered for 3, 1.9 ms against 0.3 ms)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import Inscription
from parvis.activities.selectors_foyer import household
from parvis.activities.services_custody import record_custody
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import CustodyRule, CustodySide
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db


def test_the_households_children_are_a_union_of_two_lookups_not_an_or_over_the_commune():
    commune = CommuneFactory()
    mother = FamilleFactory(commune=commune, name="DURAND")
    father = FamilleFactory(commune=commune, name="MARTIN")
    other = FamilleFactory(commune=commune, name="AUTRE")
    lea = ChildFactory(famille=mother, first_names="Léa")
    tom = ChildFactory(famille=father, first_names="Tom")
    stranger = ChildFactory(famille=other, first_names="Zoé")
    activity = make_activity(commune)
    for child in (lea, tom, stranger):
        register(child, activity)
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
        first_side=CustodySide.FOYER, since=date(2026, 9, 1),
    )  # fmt: skip
    user = FamilyAccessFactory(famille=father).user

    with CaptureQueriesContext(connection) as captured:
        lines = household(user=user, commune=commune).lines

    # The father's own child and the shared one, booked by the father's household on his side.
    assert sorted(line.child.first_names for line in lines) == ["Léa", "Tom"]
    table = Inscription._meta.db_table
    (sql,) = [q["sql"] for q in captured if q["sql"].startswith(f'SELECT "{table}"."id"')]
    assert "UNION" in sql
    assert " OR " not in sql
