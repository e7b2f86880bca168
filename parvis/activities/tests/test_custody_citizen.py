"""Separated parents on the families' side (issue 19 §2): each parent's account sees the shared
child in « Activités » and its calendar, with the bookings made by either parent; each week of
the calendar says who it will be billed to (the rule decides, whoever books); a booking by the
father on the mother's week is billed to her; an account of a third family still gets a 404.

Weeks of the calendar: 23 November 2026 is ISO week 48 (even), 30 November week 49 (odd)."""

import re
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from parvis.activities.models import BookingStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.services_custody import record_custody
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import CustodyRule, CustodySide
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)


def text_of(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode()).replace("&#x27;", "'")
    return re.sub(r"\s+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    commune = CommuneFactory()
    mother = FamilleFactory(commune=commune, name="DURAND", address="3, rue des Lilas")
    father = FamilleFactory(commune=commune, name="MARTIN", address="8, avenue Foch")
    lea = ChildFactory(famille=mother, first_names="Léa", last_name="DURAND")
    activity = make_activity(commune)
    register(lea, activity)
    record_custody(
        child=lea, other_famille=father, actor=None, rule=CustodyRule.SEMAINES_PAIRES,
        first_side=CustodySide.FOYER, since=date(2026, 9, 1),
    )  # fmt: skip
    return {
        "commune": commune, "mother": mother, "father": father, "lea": lea,
        "activity": activity, "unit": activity.units.get(),
        "mother_user": FamilyAccessFactory(famille=mother).user,
        "father_user": FamilyAccessFactory(famille=father).user,
    }  # fmt: skip


def calendar_url(world):
    return reverse(
        "activities:calendrier",
        args=[world["commune"].slug, world["activity"].slug, world["lea"].pk],
    )


def week_row(html: str, monday: date) -> str:
    start = html.index(f'id="semaine-{monday.isoformat()}"')
    return html[start : html.index("</th>", start)].replace("&#x27;", "'")


def test_both_parents_see_the_shared_child_in_activities(client, world):
    for user in (world["mother_user"], world["father_user"]):
        client.force_login(user, backend=BACKEND)
        text = text_of(client.get(reverse("activities:index", args=[world["commune"].slug])))
        assert "Léa" in text


def test_each_week_says_who_it_will_be_billed_to_as_each_parent_reads_it(client, world):
    client.force_login(world["father_user"], backend=BACKEND)
    response = client.get(calendar_url(world), {"semaine": "2026-11-23"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "rue des Lilas" not in html  # the mother's address
    assert "Facturé à votre foyer" in week_row(html, date(2026, 11, 30))  # odd: the father's
    assert "Facturé à l'autre parent" in week_row(html, date(2026, 11, 23))  # even: hers
    client.force_login(world["mother_user"], backend=BACKEND)
    html = client.get(calendar_url(world), {"semaine": "2026-11-23"}).content.decode()
    assert "Facturé à votre foyer" in week_row(html, date(2026, 11, 23))
    assert "Facturé à l'autre parent" in week_row(html, date(2026, 11, 30))
    # Neither parent's page gives the other's address.
    assert "avenue Foch" not in html


def test_a_percentage_is_said_from_each_side(client, world):
    record_custody(
        child=world["lea"], other_famille=world["father"], actor=None,
        rule=CustodyRule.POURCENTAGE, percent_foyer=D("60"), since=date(2026, 9, 1),
    )  # fmt: skip
    client.force_login(world["father_user"], backend=BACKEND)
    html = client.get(calendar_url(world), {"semaine": "2026-11-23"}).content.decode()
    assert "Partagé : 40 % facturé à votre foyer" in week_row(html, date(2026, 11, 30))


def test_a_child_not_shared_says_nothing_of_billing(client, world):
    alone = ChildFactory(famille=world["mother"], first_names="Hugo")
    register(alone, world["activity"])
    client.force_login(world["mother_user"], backend=BACKEND)
    response = client.get(
        reverse(
            "activities:calendrier",
            args=[world["commune"].slug, world["activity"].slug, alone.pk],
        )
    )
    assert "Facturé à" not in response.content.decode()


def test_the_father_books_and_sees_the_mothers_bookings(
    client, world, django_capture_on_commit_callbacks
):
    unit = world["unit"]
    Reservation.objects.create(
        commune=world["commune"], famille=world["mother"], child=world["lea"], unit=unit,
        day=date(2026, 11, 26), status=BookingStatus.RESERVEE,
    )  # fmt: skip
    client.force_login(world["father_user"], backend=BACKEND)
    html = client.get(calendar_url(world), {"semaine": "2026-11-23"}).content.decode()
    assert f'value="{unit.pk}:2026-11-26" checked' in " ".join(html.split()).replace(
        "\n", " "
    ) or re.search(rf'value="{unit.pk}:2026-11-26"[^>]*checked', html)
    panier = reverse(
        "activities:panier", args=[world["commune"].slug, world["activity"].slug, world["lea"].pk]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(panier, {"ajout": [f"{unit.pk}:2026-12-03"]})
    assert response.status_code == 302
    booked = Reservation.objects.get(day=date(2026, 12, 3))
    assert booked.child == world["lea"] and booked.status == BookingStatus.RESERVEE


def test_a_third_family_gets_a_404(client, world):
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=world["commune"])).user
    client.force_login(stranger, backend=BACKEND)
    assert client.get(calendar_url(world)).status_code == 404
    text = text_of(client.get(reverse("activities:index", args=[world["commune"].slug])))
    assert "Léa" not in text
