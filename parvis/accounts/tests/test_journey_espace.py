"""Françoise DURAND manages her information in Chromium, with axe on every page: the household
(« Compte »), her coordinates (« Coordonnées »), then « Modification de votre espace », where she
enters the LEROY family's key and sees that family linked; and she adds a person authorised to
pick the children up.

The login page belongs to another flow: the journey opens a session with Django's test client
and hands its cookie to the browser."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.families.models import Famille
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
MES_INFORMATIONS = f"{CSP}/mon-espace/mes-informations/"


def open_session(page, server_url: str) -> None:
    """Log the demo citizen in: a session made by the test client, its cookie in the browser."""
    families_demo.load()
    user = User.objects.get(
        commune__slug="carrieres-sous-poissy", email=families_demo.CITIZEN_EMAIL
    )
    client = Client()
    client.force_login(user, backend="parvis.accounts.backends.CommuneBackend")
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server_url,
            }
        ]
    )


def test_francoise_manages_her_information_and_links_a_family(demo_site, browser_page):
    page = browser_page
    open_session(page, demo_site)

    page.goto(MES_INFORMATIONS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Gérer mes informations")
    tabs = page.get_by_role("navigation", name="Onglets de Gérer mes informations")
    expect(tabs.get_by_role("link", name="Compte")).to_have_attribute("aria-current", "page")
    household = page.get_by_role("region", name="Foyer DURAND")
    expect(household.get_by_role("heading", name="Léa DURAND")).to_be_visible()
    expect(household.get_by_role("heading", name="Hugo DURAND")).to_be_visible()
    expect(household.get_by_text("Ecole du PARC")).to_have_count(2)
    expect(household.get_by_text("Projet d'accueil individualisé (PAI)")).to_be_visible()
    assert_accessible(page)

    tabs.get_by_role("link", name="Coordonnées").click()
    expect(page).to_have_url(re.compile(r"\?onglet=coordonnees$"))
    expect(tabs.get_by_role("link", name="Coordonnées")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Adresse")).to_have_value("12, rue de l'Église")
    assert_accessible(page)

    # An error is said next to the field, and the entry stays.
    page.get_by_label("Code postal").fill("7895")
    page.get_by_role("button", name="Enregistrer mes coordonnées").click()
    postal_code = page.get_by_label("Code postal")
    expect(postal_code).to_have_value("7895")
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_have_accessible_description(
        re.compile("Le code postal comporte 5 chiffres")
    )
    assert_accessible(page)

    page.get_by_role("navigation", name="Mon espace").get_by_role(
        "link", name="Modification de votre espace"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modification de votre espace")
    for title in ("Authentification", "Courriel", "Services"):
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Clé Espace Citoyens Enfance").fill(families_demo.UNUSED_KEY)
    page.get_by_role("button", name="Valider la clé").click()
    expect(
        page.get_by_text("Votre espace est lié à la famille LEROY (Clé Espace Citoyens Enfance).")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Retirer la famille LEROY")).to_be_visible()
    expect(page.get_by_role("button", name="Retirer la famille DURAND")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("navigation", name="Mon espace").get_by_role(
        "link", name="Gérer mes informations"
    ).click()
    expect(page.get_by_role("region", name="Foyer LEROY").get_by_text("Inès LEROY")).to_be_visible()


def test_francoise_adds_a_person_authorised_to_pick_up_the_children(demo_site, browser_page):
    page = browser_page
    open_session(page, demo_site)

    page.goto(MES_INFORMATIONS)
    household = page.get_by_role("region", name="Foyer DURAND")
    household.get_by_role("link", name="Ajouter une personne autorisée au foyer DURAND").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter une personne autorisée")
    assert_accessible(page)

    # A number too short first: said next to the field, every entry kept.
    page.get_by_label("Nom", exact=True).fill("GARNIER")
    page.get_by_label("Prénom", exact=True).fill("Paul")
    page.get_by_label("Téléphone").fill("06 11 22 33")
    page.get_by_label("Lien avec l'enfant").fill("Oncle")
    page.get_by_role("button", name="Ajouter cette personne").click()
    phone = page.get_by_label("Téléphone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_value("06 11 22 33")
    expect(phone).to_have_accessible_description(
        re.compile("Indiquez un numéro de téléphone français à 10 chiffres")
    )
    expect(page.get_by_label("Nom", exact=True)).to_have_value("GARNIER")
    expect(page.get_by_label("Lien avec l'enfant")).to_have_value("Oncle")
    assert_accessible(page)

    phone.fill("06 11 22 33 44")
    page.get_by_role("button", name="Ajouter cette personne").click()
    expect(page).to_have_url(re.compile(r"\?onglet=compte#foyer-\d+$"))
    expect(page.get_by_text("Paul GARNIER peut désormais récupérer les enfants.")).to_be_visible()
    household = page.get_by_role("region", name="Foyer DURAND")
    expect(
        household.get_by_text("Paul GARNIER — Oncle — Téléphone : 06 11 22 33 44")
    ).to_be_visible()
    expect(household.get_by_role("link", name="Modifier Paul GARNIER")).to_be_visible()
    expect(household.get_by_role("link", name="Retirer Paul GARNIER")).to_be_visible()
    assert_accessible(page)


def test_espace_pages_fit_a_phone(demo_site, phone_page):
    page = phone_page
    open_session(page, demo_site)
    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    jeanne = durand.authorised_people.get(first_name="Jeanne")
    lea = durand.members.get(first_names="Léa")
    foyer = f"{CSP}/mon-espace/foyers/{durand.number}"
    for path in (
        MES_INFORMATIONS,
        MES_INFORMATIONS + "?onglet=coordonnees",
        f"{CSP}/mon-espace/modifier/",
        f"{CSP}/mon-espace/mes-donnees/",
        f"{CSP}/mon-espace/supprimer/",
        f"{foyer}/personnes-autorisees/ajouter/",
        f"{foyer}/personnes-autorisees/{jeanne.pk}/modifier/",
        f"{foyer}/personnes-autorisees/{jeanne.pk}/retirer/",
        f"{foyer}/enfants/{lea.pk}/sante/",
    ):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert_accessible(page)
