"""Issue 23, the basket page's CPU: the price preview reads the commune's régies first, so that a
basket of activities no régie bills costs one query (it cost four: bookings, units, régies,
tariffs); the basket's units are priced with the activity the pages give them (no query), and
read only for those without one. The DURAND world of test_preview."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.activities.models import Unit
from parvis.billing.tests import test_preview as base
from parvis.billing.tests.test_preview import (
    DECEMBER,
    added,
    lines,
    make_unit,
    only_month,
    preview,
    qf,
)

pytestmark = pytest.mark.django_db

world = base.world


def test_a_basket_no_regie_bills_costs_one_query(world, django_assert_num_queries):
    garderie = make_unit(
        world["commune"], name="Garderie", slug="garderie", code="GAR", label="Garderie"
    )  # fmt: skip  (no régie bills it)
    with django_assert_num_queries(1):
        assert preview(world, added(world["lea"], garderie, DECEMBER[:5])) is None


def test_a_unit_given_without_its_activity_is_read_once_and_priced_the_same(
    world, django_assert_num_queries
):
    qf(world, "1000")
    cached = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:2])))
    bare = Unit.objects.get(pk=world["repas"].pk)  # its activity not loaded
    assert not Unit.activity.is_cached(bare)
    with django_assert_num_queries(8):  # the 7 of test_pin_preview, and the activity
        month = only_month(preview(world, added(world["lea"], bare, DECEMBER[:2])))
    assert lines(month) == lines(cached) == [("ajout", "Léa DURAND", 2, D("2.75"), D("5.50"))]
    assert month.after == cached.after


def test_another_communes_unit_is_not_priced(world):
    from parvis.communes.tests.factories import CommuneFactory

    elsewhere = make_unit(CommuneFactory(name="Ailleurs", slug="ailleurs"), name="Cantine",
                          slug="cantine-ailleurs", code="REPAS", label="Repas")  # fmt: skip
    assert preview(world, added(world["lea"], elsewhere, [date(2026, 12, 1)])) is None
