"""Following requests in Chromium, with axe on every page: a visitor without account follows an
accepted request with its number and code; Françoise DURAND answers a « complément demandé »
with a file, then finds her new address in « Gérer mes informations » once her change of
coordinates is accepted; her « Adhésion à la facture en ligne » sets her family's paperless
invoice. Requests are filed and decided through the services (the wizard and the guichet have
their own journeys); the login is a test-client session handed to the browser."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from parvis.accounts.models import User
from parvis.communes.models import Commune, Service
from parvis.demarches import services
from parvis.demarches.models import Procedure, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import (
    BACKEND,
    PDF_BYTES,
    coordinates_procedure,
    file_request,
    paperless_procedure,
)
from parvis.families import demo as families_demo
from parvis.families.models import Famille
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "carrieres-sous-poissy"
TABLEAU = f"/{CSP}/demarches/mes-demandes/"
NEW_ADDRESS = {"street": "7, avenue de la Gare", "postal_code": "78955", "city": "Carrières"}


def commune() -> Commune:
    return Commune.objects.get(slug=CSP)


def service(kind: str) -> Service:
    return Service.objects.get(commune=commune(), kind=kind)


def agent(username: str) -> User:
    return User.objects.get(username=username)


def francoise() -> User:
    return User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)


def open_session(page, server_url: str) -> None:
    """Françoise's session, made by the test client, its cookie in the browser."""
    client = Client()
    client.force_login(francoise(), backend=BACKEND)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server_url,
            }
        ]
    )


def procedure(slug: str, make):
    """The shipped procedure if the demo catalogue is loaded, else the test's own."""
    return Procedure.objects.filter(commune=commune(), slug=slug).first() or make()


def fits_a_phone(page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_visitor_follows_an_accepted_request_without_account(demo_site, browser_page):
    page = browser_page
    families_demo.load()
    acte = ProcedureFactory(
        commune=commune(),
        service=service("etat_civil"),
        slug="journee-acte-de-naissance",
        title="Demande d'acte de naissance",
    )
    demande, code = file_request(acte, answers={"objet": "Copie intégrale", "livraison": "mairie"})
    services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent("csp-etat-civil"))

    page.goto(f"/{CSP}/demarches/suivi/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Suivre une démarche faite sans compte"
    )
    assert_accessible(page)
    fits_a_phone(page)

    # A wrong code first: one generic answer, said to screen readers.
    page.get_by_label("Numéro de la demande").fill(demande.number)
    page.get_by_label("Code de suivi").fill("ABCDEFGHJK")
    page.get_by_role("button", name="Suivre ma demande").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Ce numéro et ce code de suivi ne correspondent à aucune demande."
    )
    expect(page.get_by_label("Numéro de la demande")).to_have_value(demande.number)
    expect(page.get_by_label("Code de suivi")).to_have_value("")
    assert_accessible(page)

    page.get_by_label("Code de suivi").fill(code.lower())
    page.get_by_role("button", name="Suivre ma demande").click()
    expect(page).to_have_url(re.compile(rf"/demarches/suivi/{demande.number}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demande d'acte de naissance")
    expect(page.locator(".suivi-summary")).to_contain_text("Acceptée")
    expect(page.get_by_role("region", name="Historique")).to_contain_text("Acceptée")
    assert_accessible(page)
    fits_a_phone(page)

    # On a shared computer, the visitor closes the follow-up.
    page.get_by_role("button", name="Fermer le suivi sur cet appareil").click()
    expect(
        page.get_by_text("Le suivi de cette demande est fermé sur cet appareil.")
    ).to_be_visible()
    page.goto(f"/{CSP}/demarches/suivi/{demande.number}/")
    expect(page).to_have_url(re.compile(r"/demarches/suivi/\?numero="))


def test_francoise_answers_a_complement_and_her_new_address_is_kept(
    demo_site, browser_page, tmp_path
):
    page = browser_page
    families_demo.load()
    open_session(page, demo_site)
    coordonnees = procedure(
        "changement-de-coordonnees",
        lambda: coordinates_procedure(commune(), service=service("enfance")),
    )
    demande, _none = file_request(
        coordonnees,
        user=francoise(),
        answers={"adresse": NEW_ADDRESS, "telephone": "06 12 34 56 78", "tout_le_foyer": "oui"},
    )
    enfance = agent("csp-enfance")
    services.take(demande=demande, agent=enfance)
    services.ask_complement(
        demande=demande, agent=enfance, message="Joignez un justificatif de domicile, svp."
    )

    page.goto(f"/{CSP}/mon-espace/")
    page.get_by_role("link", name="Mes demandes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord de mes demandes")
    item = page.get_by_role("listitem").filter(has_text=demande.number)
    expect(item).to_contain_text("État : Complément demandé")
    assert_accessible(page)

    item.get_by_role("link", name=f"Voir la demande {demande.number}").click()
    expect(page.get_by_text("Le service attend un complément de votre part.")).to_be_visible()
    expect(page.get_by_role("region", name="Mes réponses")).to_contain_text("7, avenue de la Gare")
    assert_accessible(page)

    # Sent without a message: said next to the field, the file must be chosen again.
    page.get_by_role("button", name="Envoyer ma réponse").click()
    expect(page.get_by_label("Votre réponse")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    proof = tmp_path / "justificatif-domicile.pdf"
    proof.write_bytes(PDF_BYTES)
    page.get_by_label("Votre réponse").fill("Voici ma facture d'électricité.")
    page.get_by_label("Pièce demandée").set_input_files(str(proof))
    page.get_by_role("button", name="Envoyer ma réponse").click()
    expect(page.get_by_text("votre demande est de nouveau en cours d'instruction")).to_be_visible()
    expect(page.locator(".suivi-summary")).to_contain_text("En cours d'instruction")
    messages = page.get_by_role("region", name="Messages")
    expect(messages.get_by_role("link", name="justificatif-domicile.pdf")).to_be_visible()
    assert_accessible(page)
    fits_a_phone(page)

    services.transition(demande=demande, to=Status.ACCEPTEE, actor=enfance)

    page.goto(TABLEAU)
    expect(page.get_by_role("listitem").filter(has_text=demande.number)).to_contain_text(
        "État : Acceptée"
    )
    page.goto(f"/{CSP}/mon-espace/mes-informations/?onglet=coordonnees")
    expect(page.get_by_label("Adresse")).to_have_value("7, avenue de la Gare")
    expect(page.get_by_label("Ville")).to_have_value("Carrières")
    assert_accessible(page)
    durand = Famille.objects.get(commune=commune(), name="DURAND")
    assert durand.address == "7, avenue de la Gare"


def test_francoise_joins_the_paperless_invoice(demo_site, browser_page):
    page = browser_page
    families_demo.load()
    open_session(page, demo_site)
    durand = Famille.objects.get(commune=commune(), name="DURAND")
    assert durand.paperless_invoice is False
    adhesion = procedure(
        "adhesion-facture-en-ligne",
        lambda: paperless_procedure(commune(), service=service("regie")),
    )
    demande, _none = file_request(adhesion, user=francoise(), answers={"adhesion": "oui"})
    if demande.status != Status.ACCEPTEE:  # the shipped one is accepted at once
        services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent("csp-regie"))

    durand.refresh_from_db()
    assert durand.paperless_invoice is True

    page.goto(TABLEAU)
    item = page.get_by_role("listitem").filter(has_text=demande.number)
    expect(item).to_contain_text("Adhésion à la facture en ligne")
    expect(item).to_contain_text("État : Acceptée")
    assert_accessible(page)
    fits_a_phone(page)

    page.get_by_role("combobox", name="État").select_option(label="Refusée")
    page.get_by_role("button", name="Filtrer").click()
    expect(
        page.get_by_text("Aucune de vos demandes n'est dans l'état « Refusée ».")
    ).to_be_visible()
    assert_accessible(page)

    page.goto(TABLEAU)
    page.get_by_role("link", name=f"Voir la demande {demande.number}").click()
    expect(page.get_by_role("region", name="Mes réponses")).to_contain_text("Oui")
    expect(page.get_by_text("Cette demande est close")).to_be_visible()
    assert_accessible(page)
