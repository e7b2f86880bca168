"""The price preview on the basket pages, above « Valider »: the one-child calendar's basket and
the household grid's (several children, the sibling discount), after a refused « Valider » too,
server-rendered (no JavaScript), in a number of queries that does not grow with the basket."""

import re
from datetime import date, datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.activities.models import Reservation, Unit
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.billing.models import Regie, RegieActivity, Tariff, TariffBracket, TariffKind
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import QfSource, QuotientFamilial
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

D = Decimal
BACKEND = "parvis.accounts.backends.CommuneBackend"
# Friday 20 November 2026, 10:00: Tuesday 24's deadline (Monday 09:00) has not passed.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
BRACKETS = [("0", "0.50"), ("400", "1.35"), ("700", "2.10"), ("900", "2.75"), ("1100", "3.30")]


def text_of(response) -> str:
    html = " ".join(response.content.decode().split())
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family():
    """DURAND of Carrières-sous-Poissy, QF 1000 € (2,75 € a meal): Léa and Hugo registered to
    the canteen, billed by the « Régie enfance » (10 % off the 2nd child)."""
    commune = CommuneFactory(name="Carrières-sous-Poissy", postal_code="78955")
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2019, 3, 1))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2021, 5, 1))
    access = FamilyAccessFactory(famille=famille)
    cantine = make_activity(commune, name="Restauration scolaire", slug="cantine")
    Unit.objects.filter(activity=cantine).update(
        code="REPAS", label="Repas", starts_at=time(11, 30), ends_at=time(13, 30)
    )
    repas = cantine.units.get()
    for child in (lea, hugo):
        register(child, cantine)
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    RegieActivity.objects.create(commune=commune, regie=regie, activity=cantine)
    meal = Tariff.objects.create(
        commune=commune, unit=repas, valid_from=date(2026, 9, 1), kind=TariffKind.QF_BRACKETS,
        second_child_discount=D(10), third_child_discount=D(20),
    )  # fmt: skip
    for qf_min, price in BRACKETS:
        TariffBracket.objects.create(commune=commune, tariff=meal, qf_min=D(qf_min), price=D(price))
    QuotientFamilial.objects.create(
        commune=commune, famille=famille, value=D("1000"), source=QfSource.CAF,
        valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31),
    )  # fmt: skip
    return {
        "commune": commune, "famille": famille, "lea": lea, "hugo": hugo, "user": access.user,
        "cantine": cantine, "repas": repas,
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def calendar_url(family, name="calendrier", child=None):
    return reverse(
        f"activities:{name}",
        kwargs={"commune": family["commune"].slug, "activity": "cantine",
                "child": (child or family["lea"]).pk},
    )  # fmt: skip


def key(unit, day):
    return f"{unit.pk}:{day.isoformat()}"


def book(family, child, days):
    for day in days:
        Reservation.objects.create(
            commune=family["commune"], famille=family["famille"], child=child,
            unit=family["repas"], day=day, status="reservee",
        )  # fmt: skip


DECEMBER = [date(2026, 12, d) for d in (1, 3, 4, 7, 8, 10)]


def test_the_one_child_basket_shows_the_estimate_above_valider(logged, family):
    repas = family["repas"]
    book(family, family["lea"], [DECEMBER[3]])
    checked = [key(repas, day) for day in DECEMBER[:4]]
    response = logged.post(calendar_url(family), {"grille": "1", "c": checked, "action": "panier"})
    assert response.status_code == 200
    text = text_of(response)
    assert (
        "Estimation du prix Ce que ces changements ajouteraient ou retireraient à vos factures"
        in text
    )
    assert (
        "Estimation pour décembre 2026 : +8,25 € (3 jours ajoutés à 2,75 €) ; total du mois "
        "11,00 €" in text
    )
    assert "Sans ces changements : 2,75 €." in text
    assert "Léa DURAND — Repas : 3 jours ajoutés à 2,75 € (QF de 900 € à 1099,99 €) : +8,25 €" in (
        text
    )
    assert text.index("Estimation du prix") < text.index("Valider")
    assert not Reservation.objects.filter(day__in=DECEMBER[:3]).exists()  # nothing saved


def test_a_cancellation_is_estimated_too(logged, family):
    book(family, family["lea"], DECEMBER[:2])
    response = logged.post(
        calendar_url(family),
        {"grille": "1", "c": [key(family["repas"], DECEMBER[0])], "action": "panier"},
    )
    text = text_of(response)
    assert "Estimation pour décembre 2026 : \u22122,75 € (1 jour annulé à 2,75 €)" in text
    assert "total du mois 2,75 €" in text


def test_a_refused_basket_keeps_its_estimate(logged, family):
    repas = family["repas"]
    data = {"ajout": [key(repas, date(2026, 11, 24)), key(repas, DECEMBER[0])]}
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=PARIS), tick=False):
        response = logged.post(calendar_url(family, "panier"), data)
    assert response.status_code == 200
    text = text_of(response)
    assert "vos modifications n'ont pas été enregistrées" in text
    assert "Estimation pour novembre 2026 : +2,75 €" in text
    assert "Estimation pour décembre 2026 : +2,75 €" in text
    assert not Reservation.objects.exists()


def editable_days(client, family) -> list[date]:
    response = client.get(calendar_url(family), {"vue": "annee"})  # every week worked out
    return [cell.day for cell in response.context["cal"].cells() if cell.editable]


def test_the_basket_costs_the_same_queries_with_1_or_40_changes(
    logged, family, django_assert_max_num_queries
):
    repas = family["repas"]
    days = editable_days(logged, family)
    assert len(days) >= 50
    with CaptureQueriesContext(connection) as one:
        response = logged.post(
            calendar_url(family), {"grille": "1", "c": [key(repas, days[0])], "action": "panier"}
        )
    assert "Estimation pour novembre 2026" in text_of(response)
    # 40 changes over four months: 30 days added, 10 booked days cancelled.
    book(family, family["lea"], days[40:50])
    checked = [key(repas, day) for day in days[:30]]
    with django_assert_max_num_queries(len(one)):
        response = logged.post(
            calendar_url(family), {"grille": "1", "c": checked, "action": "panier"}
        )
    text = text_of(response)
    months = {day.replace(day=1) for day in days[:30] + days[40:50]}
    assert len(months) >= 3
    assert text.count("Estimation pour ") == len(months)


def foyer_url(family):
    return reverse("activities:foyer", kwargs={"commune": family["commune"].slug})


def foyer_key(child, unit, day):
    return f"{child.pk}:{unit.pk}:{day.isoformat()}"


def test_the_household_basket_prices_every_child_with_the_sibling_discount(logged, family):
    lea, hugo, repas = family["lea"], family["hugo"], family["repas"]
    book(family, hugo, [DECEMBER[5]])
    checked = [foyer_key(lea, repas, day) for day in DECEMBER[:2]] + [
        foyer_key(hugo, repas, day) for day in DECEMBER[:2]
    ]
    response = logged.post(
        foyer_url(family),
        {"grille": "1", "vue": "mois", "debut": "2026-12-01", "c": checked, "action": "panier"},
    )
    assert response.status_code == 200
    text = text_of(response)
    # Léa, the elder: 2 × 2,75 €; Hugo, the 2nd child: 2,75 € less 10 % = 2,48 €; Hugo's
    # 10 December cancelled at 2,75 € (he was the only child billed), and his discount now.
    assert "Léa DURAND — Repas : 2 jours ajoutés à 2,75 € (QF de 900 € à 1099,99 €) : +5,50 €" in (
        text
    )
    assert "Hugo DURAND — Repas : 2 jours ajoutés à 2,48 €" in text
    assert ": +4,96 €" in text
    assert (
        "Hugo DURAND — Repas : 1 jour annulé à 2,75 € (QF de 900 € à 1099,99 €) : \u22122,75 €"
        in (text)
    )
    assert "Estimation pour décembre 2026 : +7,71 € ; total du mois 10,46 €" in text
    assert text.index("Estimation du prix") < text.index("Valider")


def test_an_unpriced_activity_shows_no_estimate(logged, family):
    Tariff.objects.all().delete()
    response = logged.post(
        calendar_url(family),
        {"grille": "1", "c": [key(family["repas"], DECEMBER[0])], "action": "panier"},
    )
    assert response.status_code == 200
    assert "Estimation" not in text_of(response)
