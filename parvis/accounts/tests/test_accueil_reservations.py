"""Seed 000: « Dans la rubrique « Ma famille », cliquez sur « Modifier les réservations » »: the
« Ma famille » card of « Mon accueil » links to the same page as « Activités » does."""

import re

import pytest
from django.urls import reverse

from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db


def test_the_ma_famille_card_links_to_modifier_les_reservations(client):
    commune = CommuneFactory()
    user = CitizenFactory(commune=commune)
    FamilyAccessFactory(famille__commune=commune, famille__name="DURAND", user=user)
    client.force_login(user)
    html = client.get(reverse("accounts:accueil", kwargs={"commune": commune.slug})).content
    html = html.decode()
    target = reverse("activities:choisir", kwargs={"commune": commune.slug})
    card = re.search(
        r'<section class="panel" aria-labelledby="ma-famille">.*?</section>', html, re.S
    )
    assert card is not None
    assert f'<a href="{target}">Modifier les réservations</a>' in card.group(0)
    # The page it opens is the one « Activités » opens.
    activities = client.get(reverse("activities:index", kwargs={"commune": commune.slug}))
    assert activities.status_code == 200
    assert client.get(target).status_code == 200
