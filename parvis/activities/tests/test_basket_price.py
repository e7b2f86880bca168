"""The basket's price hook (activities.pricing_hooks): activities alone render no price preview;
a registered pricer gets the basket's changes (added, cancelled, full) of each family and its
answer is printed above « Valider », on the one-child basket and the household grid's."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils.safestring import mark_safe

from parvis.activities import pricing_hooks
from parvis.activities.models import BookingStatus, Reservation, UnitDay
from parvis.activities.pricing_hooks import (
    BasketChange,
    basket_price,
    basket_prices,
    changes_of,
    register_basket_pricer,
)
from parvis.activities.rules import PARIS
from parvis.activities.selectors import Cell
from parvis.activities.tests.factories import make_activity, register
from parvis.families.models import FamilyAccess
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
DAYS = [date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7)]
MARK = "PRIX-DU-PANIER"


def text_of(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


class FakePricer:
    """Says MARK and the number of changes it got; records its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, *, famille, commune, changes, now):
        self.calls.append({"famille": famille, "commune": commune, "changes": changes, "now": now})
        return mark_safe(f"<section><h3>{MARK}</h3><p>{len(changes)} changements</p></section>")


@pytest.fixture
def pricer(monkeypatch):
    fake = FakePricer()
    monkeypatch.setattr(pricing_hooks, "_PRICER", [fake])
    return fake


@pytest.fixture
def no_pricer(monkeypatch):
    monkeypatch.setattr(pricing_hooks, "_PRICER", [])


@pytest.fixture
def family():
    famille = FamilleFactory(name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2019, 3, 1))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2021, 5, 1))
    access = FamilyAccessFactory(famille=famille)
    activity = make_activity(famille.commune, capacity=1)
    for child in (lea, hugo):
        register(child, activity)
    return {
        "commune": famille.commune, "famille": famille, "lea": lea, "hugo": hugo,
        "user": access.user, "activity": activity, "unit": activity.units.get(),
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def calendar_url(family):
    return reverse(
        "activities:calendrier",
        kwargs={"commune": family["commune"].slug, "activity": family["activity"].slug,
                "child": family["lea"].pk},
    )  # fmt: skip


def one_child_basket(client, family):
    """Léa: 3 and 4 December added (4th full: a seat taken by Hugo), 7 December cancelled."""
    unit = family["unit"]
    for child, day in [(family["lea"], DAYS[2]), (family["hugo"], DAYS[1])]:
        Reservation.objects.create(
            commune=family["commune"], famille=family["famille"], child=child, unit=unit,
            day=day, status=BookingStatus.RESERVEE,
        )  # fmt: skip
    UnitDay.objects.create(unit=unit, day=DAYS[1], taken=1)
    checked = [f"{unit.pk}:{day.isoformat()}" for day in DAYS[:2]]
    return client.post(calendar_url(family), {"grille": "1", "c": checked, "action": "panier"})


def test_without_a_pricer_the_basket_shows_no_price(logged, family, no_pricer):
    response = one_child_basket(logged, family)
    assert response.status_code == 200
    text = text_of(response)
    assert "Jours ajoutés" in text and "Valider" in text
    assert MARK not in text and "Estimation" not in text
    assert response.context["price_previews"] == []


def test_the_pricer_gets_the_basket_and_its_answer_is_shown_above_valider(logged, family, pricer):
    response = one_child_basket(logged, family)
    text = text_of(response)
    assert f"{MARK} 3 changements" in text
    assert text.index(MARK) < text.index("Valider")
    (call,) = pricer.calls
    assert call["famille"] == family["famille"] and call["commune"] == family["commune"]
    assert call["now"] == NOW
    lea, unit = family["lea"], family["unit"]
    assert call["changes"] == [
        BasketChange(child=lea, unit=unit, day=DAYS[0], added=True, full=False),
        BasketChange(child=lea, unit=unit, day=DAYS[1], added=True, full=True),
        BasketChange(child=lea, unit=unit, day=DAYS[2], added=False, full=False),
    ]


def test_the_household_basket_asks_the_pricer_once_for_every_child(logged, family, pricer):
    lea, hugo, unit = family["lea"], family["hugo"], family["unit"]
    checked = [f"{child.pk}:{unit.pk}:{DAYS[0].isoformat()}" for child in (lea, hugo)]
    response = logged.post(
        reverse("activities:foyer", kwargs={"commune": family["commune"].slug}),
        {"grille": "1", "vue": "mois", "debut": "2026-12-01", "c": checked, "action": "panier"},
    )
    text = text_of(response)
    assert f"{MARK} 2 changements" in text
    assert text.index(MARK) < text.index("Valider")
    (call,) = pricer.calls
    assert [(c.child, c.day, c.added) for c in call["changes"]] == [
        (lea, DAYS[0], True),
        (hugo, DAYS[0], True),
    ]


def test_an_account_of_two_households_gets_one_price_per_family(family, pricer):
    other = FamilleFactory(commune=family["commune"], name="MARTIN")
    FamilyAccess.objects.create(commune=other.commune, famille=other, user=family["user"])
    tom = ChildFactory(famille=other, first_names="Tom")
    unit = family["unit"]
    changes = [
        BasketChange(child=family["lea"], unit=unit, day=DAYS[0], added=True),
        BasketChange(child=tom, unit=unit, day=DAYS[0], added=True),
        BasketChange(child=family["hugo"], unit=unit, day=DAYS[1], added=False),
    ]
    previews = basket_prices(commune=family["commune"], changes=changes, now=NOW)
    assert len(previews) == 2
    assert [(c["famille"], len(c["changes"])) for c in pricer.calls] == [
        (family["famille"], 2),
        (other, 1),
    ]


def test_no_pricer_or_no_change_means_no_price(family, no_pricer):
    change = BasketChange(child=family["lea"], unit=family["unit"], day=DAYS[0], added=True)
    args = {"famille": family["famille"], "commune": family["commune"], "now": NOW}
    assert basket_price(changes=[change], **args) is None
    assert basket_prices(commune=family["commune"], changes=[change], now=NOW) == []
    register_basket_pricer(FakePricer())
    register_basket_pricer(FakePricer())  # ready() may run twice: still one pricer
    assert len(pricing_hooks._PRICER) == 1
    assert basket_price(changes=[], **args) is None
    assert MARK in basket_price(changes=[change], **args)


def test_changes_of_basket_cells(family):
    unit = family["unit"]
    free = Cell(unit=unit, day=DAYS[0])
    full = Cell(unit=unit, day=DAYS[1], note="complet : une réservation irait en liste d'attente")
    booked = Cell(unit=unit, day=DAYS[2], status=BookingStatus.RESERVEE)
    changes = changes_of(add=[free, full], remove=[booked], child=family["lea"])
    assert [(c.day, c.added, c.full, c.child) for c in changes] == [
        (DAYS[0], True, False, family["lea"]),
        (DAYS[1], True, True, family["lea"]),
        (DAYS[2], False, False, family["lea"]),
    ]
