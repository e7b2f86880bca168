"""An agent instructs a request at the guichet, in Chromium, with axe on every page: the demo's
état-civil agent of Carrières-sous-Poissy opens « Demandes », opens a request filed without an
account, takes it, accepts it; the requester is told by e-mail. And the same pages on a phone."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"


@pytest.fixture
def guichet_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_site


def file_a_request(name="Jeanne MARTIN", email="jeanne.martin@example.fr"):
    """An anonymous « Demande d'acte de naissance » to the État-civil service of the commune."""
    from parvis.communes.models import Commune, Service
    from parvis.demarches import services
    from parvis.demarches.tests.factories import ProcedureFactory

    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    procedure = ProcedureFactory(
        commune=commune,
        service=Service.objects.get(commune=commune, kind="etat_civil"),
        slug="parcours-acte-de-naissance",
        title="Demande d'acte de naissance (parcours)",
    )
    demande = services.start_draft(procedure=procedure, draft_key="parcours")
    services.save_step(
        demande=demande,
        step=1,
        answers={"objet": "<script>alert('copie')</script>", "livraison": "mairie"},
    )
    services.submit(demande=demande, contact_name=name, contact_email=email)
    demande.refresh_from_db()
    return demande


def test_an_etat_civil_agent_takes_and_accepts_a_request(guichet_site, browser_page):
    demande = file_a_request()
    mail.outbox.clear()
    page = browser_page
    log_in_agent(page, CSP, "csp-etat-civil")
    assert_accessible(page)

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Demandes"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes")
    row = page.get_by_role("row").filter(has_text=demande.number)
    expect(row).to_contain_text("Jeanne MARTIN")
    expect(row).to_contain_text("sans compte")
    expect(row).to_contain_text("En attente d'instruction")
    assert_accessible(page)

    row.get_by_role("link", name=demande.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Demande d'acte de naissance (parcours)"
    )
    expect(page.get_by_text("<script>alert('copie')</script>")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.get_by_text("1 demande prise en charge.")).to_be_visible()
    expect(page.locator(".demande-state")).to_have_text(re.compile(r"En cours d'instruction"))
    assert_accessible(page)

    page.get_by_text("Accepter la demande", exact=True).click()  # its <details> opens
    accept = page.get_by_role("form", name="Accepter la demande")
    accept.get_by_label("Commentaire pour le demandeur").fill("Votre acte est à retirer.")
    accept.get_by_role("button", name="Accepter", exact=True).click()
    expect(page.locator(".demande-state")).to_have_text(re.compile(r"État :\s*Acceptée"))
    expect(page.get_by_text("Cette demande est close")).to_be_visible()
    assert_accessible(page)
    assert [m.to for m in mail.outbox] == [["jeanne.martin@example.fr"]] * 2
    assert "Acceptée" in mail.outbox[-1].subject
    assert "Votre acte est à retirer." in mail.outbox[-1].body


def test_the_queue_and_a_request_on_a_phone(guichet_site, phone_page):
    demande = file_a_request()
    page = phone_page
    log_in_agent(page, CSP, "csp-etat-civil")
    page.goto(f"{CSP}demandes/")
    expect(page.get_by_role("link", name=demande.number)).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    page.goto(f"{CSP}demandes/{demande.number}/")
    expect(page.get_by_role("button", name="Prendre en charge")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
