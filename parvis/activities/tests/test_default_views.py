"""The calendars' default views (issue 18 §4): the one-child calendar's weeks that can change and
the household grid's month, in a fixed number of queries and at most 60 kB of HTML; the
one-child calendar reads the bookings of the weeks it shows (and a few past them), not the
whole period's."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import BookingStatus
from parvis.activities.tests import test_foyer as foyer
from parvis.activities.tests import test_views as base
from parvis.activities.tests.factories import register
from parvis.activities.tests.test_views import book, url
from parvis.families.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db

# Friday 20 November 2026, Léa registered (test_views' fixtures).
clock, family, logged = base.clock, base.family, base.logged

# The session and the account; the child, the activity, the inscription; the units, the
# closures and the bookings of the weeks shown (and a waiting list's ranks; no unit has seats).
CHILD_QUERIES = 8


def test_the_child_calendars_default_view_in_a_fixed_number_of_queries(
    logged, family, django_assert_num_queries
):
    book(family, date(2026, 12, 3))
    with django_assert_num_queries(CHILD_QUERIES):
        response = logged.get(url("calendrier", family))
    assert len(response.content) <= 60_000
    book(family, date(2026, 12, 4), status=BookingStatus.LISTE_ATTENTE)
    with django_assert_num_queries(CHILD_QUERIES + 1):  # the waiting list's ranks
        logged.get(url("calendrier", family))


def reservation_reads(client, address) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return [q["sql"] for q in queries if 'FROM "activities_reservation"' in q["sql"]]


def test_the_default_view_reads_the_bookings_of_its_weeks_only(logged, family):
    # From the Monday of today's week (where the opening is looked for; the weeks shown start
    # on 23 November) to a few weeks past them, never June.
    (read,) = reservation_reads(logged, url("calendrier", family))
    assert "'2026-11-16'" in read and "2027-06" not in read
    # The whole period reads it all.
    (read,) = reservation_reads(logged, url("calendrier", family) + "?vue=annee")
    assert "'2026-09-01'" in read and "'2027-07-03'" in read


def test_an_opening_past_the_days_first_read_reads_the_rest_once(logged, family):
    """Not registered: no week can change, every week is looked at for the opening (today's
    then), so the rest of the period is read too: one more read, not one a week."""
    family["inscription"].delete()
    reads = reservation_reads(logged, url("calendrier", family))
    assert len(reads) == 2
    assert "'2027-07-03'" in reads[1]


# The session and the account; the account's families, the inscriptions, the units; the
# closures and the bookings of the month (and a waiting list's ranks; no unit has seats).
HOUSEHOLD_QUERIES = 7


@pytest.fixture
def household(client, family):
    """Léa's family (test_views) with a canteen too, and Hugo registered to it."""
    cantine = foyer.make_canteen(family["commune"])
    hugo = ChildFactory(famille=family["famille"], first_names="Hugo")
    register(family["child"], cantine)
    register(hugo, cantine)
    client.force_login(family["user"], backend=base.BACKEND)
    unit = cantine.units.get()
    for day in (date(2026, 11, 26), date(2026, 12, 3), date(2027, 1, 7)):
        foyer.book(hugo, unit, day)
    return client, foyer.url("foyer", family), hugo, unit


def test_the_household_grids_default_view_in_a_fixed_number_of_queries(
    household, django_assert_num_queries
):
    client, address, hugo, unit = household
    with django_assert_num_queries(HOUSEHOLD_QUERIES):
        response = client.get(address)
    assert len(response.content) <= 60_000
    foyer.book(hugo, unit, date(2026, 11, 27), status=BookingStatus.LISTE_ATTENTE)
    with django_assert_num_queries(HOUSEHOLD_QUERIES + 1):  # the waiting list's ranks
        client.get(address)


def plans(client, address) -> list[str]:
    """SQLite's plan of each bookings read of the page (the SQL as run, its values inlined)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    found = []
    with connection.cursor() as cursor:
        for query in queries:
            if 'FROM "activities_reservation"' in query["sql"] and "queued_at" not in query["sql"]:
                cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
                found.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    return found


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without statistics")
def test_the_bookings_are_read_by_child_not_by_the_communes_index(logged, family):
    """Every commune query says its commune (tenancy): SQLite without statistics took the
    commune's index for the child's bookings and read every booking of the commune (20–30 ms
    at 200 families); by (child, unit, day), the unique constraint's index, it reads the
    child's. (With the units joined, as the model's order does: without that join it takes the
    commune's index again when the activity has several units.)"""
    for code in ("SOIR", "MIDI"):  # several units: `unit_id IN (…)` of several values
        unit = family["activity"].units.first()
        unit.pk, unit.code = None, code
        unit.save()
    (found,) = plans(logged, url("calendrier", family))
    assert "reservation_commune_id" not in found, found
    assert "sqlite_autoindex_activities_reservation_1" in found, found
