"""« Effectuer des démarches sans créer de compte » in Chromium, with axe on every page: from the
commune's home to the catalogue, the search « naissance », « Demande d'acte de naissance » (the
procedure the catalogue ships), every step (one sent wrong first, one step back), the summary
(which shows the details of « 4 - Vos coordonnées » instead of asking them again), « Valider », and
the confirmation with its number and tracking code; then the État-civil agent accepts it at the
guichet, and the visitor, on their phone (the e-mail lost), goes from the commune's home page
through « Suivre ma demande » and reads « Acceptée ». Then the same pages on a 360 px phone."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches import demo as demarches_demo
from parvis.demarches.definitions import resolve_date
from parvis.demarches.models import Demande, Procedure, Status
from parvis.families import demo as families_demo
from parvis.testing.browser import assert_accessible
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.browser

HOME = "/carrieres-sous-poissy/"
TITLE = "Demande d'acte de naissance"
PDF = pdf_bytes()
# Answers chosen where the procedure asks them (else the first choice): a parent asks for the
# full copy of their child's birth certificate, sent by post, with a supporting document.
PREFERRED = {"type_acte": "integrale", "lien_demandeur": "parent", "livraison": "courrier"}
TEXT_CANDIDATES = ["Martin", "78955", "0612345678", "Jean Martin"]


def heading(page, level=1):
    return page.get_by_role("heading", level=level)


def a_text_for(spec: dict) -> str:
    """A plausible answer to a text field, meeting its pattern and lengths."""
    for candidate in TEXT_CANDIDATES:
        if "pattern" in spec and not re.fullmatch(spec["pattern"], candidate):
            continue
        if len(candidate) <= spec.get("max_length", 200) and len(candidate) >= spec.get(
            "min_length", 0
        ):
            return candidate
    raise AssertionError(f"no answer for {spec['name']}")


def a_date_for(spec: dict) -> str:
    low = resolve_date(spec.get("min_date", "1900-01-01"))
    high = resolve_date(spec.get("max_date", "2100-01-01"))
    wanted = date(1990, 5, 12)
    return (wanted if low <= wanted <= high else low + (high - low) / 2).isoformat()


def fill_step(page, fields: list[dict]) -> None:
    """Answer every field the step shows (those ruled out by an earlier answer are absent)."""
    for spec in fields:
        name, kind = spec["name"], spec["type"]
        if kind == "address":
            if page.locator(f'[name="{name}__street"]').count():
                page.locator(f'[name="{name}__street"]').fill("3, rue des Écoles")
                page.locator(f'[name="{name}__postal_code"]').fill("78955")
                page.locator(f'[name="{name}__city"]').fill("Carrières-sous-Poissy")
            continue
        field = page.locator(f'[name="{name}"]')
        if not field.count():
            continue
        if kind in {"choice", "yesno"}:
            values = [c[0] for c in spec.get("choices", [["oui", "Oui"]])]
            value = PREFERRED.get(name, values[0])
            if field.first.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif kind == "multiple":
            page.locator(f'input[name="{name}"][value="{spec["choices"][0][0]}"]').check()
        elif kind == "file":
            field.set_input_files(
                files=[
                    {"name": "livret-de-famille.pdf", "mimeType": "application/pdf", "buffer": PDF}
                ]
            )
        elif kind == "number":
            field.fill(str(spec.get("min", 1)))
        elif kind == "date":
            field.fill(a_date_for(spec))
        elif kind == "email":
            field.fill("jean.martin@example.fr")
        elif kind == "phone":
            field.fill("06 12 34 56 78")
        elif kind == "textarea":
            field.fill("Pour le dossier de mariage de mon fils.")
        else:
            field.fill(a_text_for(spec))


def the_procedure() -> Procedure:
    demarches_demo.load()  # the shipped catalogue, in both demo communes (idempotent)
    return Procedure.objects.get(commune__slug="carrieres-sous-poissy", title=TITLE)


def test_an_anonymous_visitor_asks_for_a_birth_certificate(demo_site, browser_page, phone_page):
    procedure = the_procedure()
    steps = procedure.definition["steps"]
    last = len(steps) + 1
    page = browser_page
    page.goto(HOME)
    page.get_by_role("link", name="Effectuer des démarches sans créer de compte").click()
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/demarches/$"))
    expect(heading(page)).to_have_text("Les démarches")
    expect(page.get_by_role("heading", level=2, name="Actes d'état civil")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Votre recherche").fill("naissance")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_contain_text("« naissance »")
    card = page.locator(".demarche-card", has=page.get_by_role("link", name=TITLE))
    expect(card).to_contain_text("Possible sans compte")
    expect(page.get_by_role("link", name="Demande d'acte de mariage")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name=TITLE).click()
    expect(heading(page)).to_have_text(TITLE)
    expect(page.get_by_text("Durée approximative de cette démarche")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Commencer").click()

    # Step 1 sent empty: the errors are listed, and said next to each field.
    expect(page.locator("[aria-current=step]")).to_contain_text(f"1 - {steps[0]['title']}")
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce champ est obligatoire.")
    assert_accessible(page)

    for number, step in enumerate(steps, start=1):
        expect(page.locator("[aria-current=step]")).to_contain_text(f"{number} - {step['title']}")
        fill_step(page, step["fields"])
        assert_accessible(page)
        if number == 2:
            # One step back and forth: the answers are still there.
            typed = {
                spec["name"]: page.locator(f'[name="{spec["name"]}"]').input_value()
                for spec in step["fields"]
                if spec["type"] == "text" and page.locator(f'[name="{spec["name"]}"]').count()
            }
            page.get_by_role("button", name="Retour à l'étape précédente").click()
            expect(page.locator("[aria-current=step]")).to_contain_text("1 - ")
            page.get_by_role("button", name="Aller à l'étape 2").click()
            for name, value in typed.items():
                expect(page.locator(f'[name="{name}"]')).to_have_value(value)
        page.get_by_role("button", name=f"Aller à l'étape {number + 1}").click()

    expect(page.locator("[aria-current=step]")).to_contain_text(f"{last} - Récapitulatif")
    expect(page.get_by_text("livret-de-famille.pdf")).to_be_visible()
    # The contact details were asked at « 4 - Vos coordonnées »: shown, not asked again.
    expect(page.get_by_role("textbox", name="Vos nom et prénom")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Votre courriel")).to_have_count(0)
    contact = page.get_by_role("region", name="Pour vous répondre")
    expect(contact).to_contain_text("jean.martin@example.fr")
    expect(contact.get_by_role("link", name="Modifier votre courriel, à l'étape 4")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Valider").click()

    expect(heading(page)).to_have_text("Votre demande est envoyée")
    number = page.locator(".demarche-number").inner_text()
    assert re.fullmatch(r"DEM-\d{4}-\d{6}", number), number
    code = page.locator(".demarche-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{10}", code), code
    expect(page.get_by_role("link", name="Suivre ma demande")).to_be_visible()
    assert_accessible(page)
    demande = Demande.objects.get(number=number, commune__slug="carrieres-sous-poissy")
    assert demande.status == Status.EN_ATTENTE
    assert demande.procedure == procedure
    assert demande.attachments.get().original_name == "livret-de-famille.pdf"
    assert demande.contact_email == "jean.martin@example.fr"

    # The État-civil agent, in another browser, takes the request and accepts it.
    families_demo.load()  # the demo's agents
    agent_context = page.context.browser.new_context(base_url=demo_site, locale="fr-FR")
    agent = agent_context.new_page()
    agent.goto(f"{HOME}guichet/connexion/")
    agent.get_by_label("Identifiant").fill("csp-etat-civil")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Connexion").click()
    agent.goto(f"{HOME}guichet/demandes/{number}/")
    assert_accessible(agent)
    agent.get_by_role("button", name="Prendre en charge").click()
    agent.get_by_text("Accepter la demande", exact=True).click()
    agent.get_by_role("form", name="Accepter la demande").get_by_role(
        "button", name="Accepter", exact=True
    ).click()
    expect(agent.locator(".demande-state")).to_have_text(re.compile(r"Acceptée"))
    agent_context.close()

    # The visitor, later on their phone and without the e-mail, starts from the commune's home
    # page: « Suivre ma demande », the number and the code, and the request says « Acceptée ».
    visitor = phone_page
    visitor.goto(HOME)
    assert_accessible(visitor)
    visitor.get_by_role("link", name="Suivre ma demande").click()
    expect(visitor).to_have_url(re.compile(r"/carrieres-sous-poissy/demarches/suivi/$"))
    expect(heading(visitor)).to_have_text("Suivre une démarche faite sans compte")
    assert_accessible(visitor)
    visitor.get_by_label("Numéro de la demande").fill(number)
    visitor.get_by_label("Code de suivi").fill(code)
    visitor.get_by_role("button", name="Suivre ma demande").click()
    expect(visitor.locator(".suivi-summary")).to_contain_text("Acceptée")
    assert_accessible(visitor)


def test_the_catalogue_and_a_step_on_a_phone(demo_site, phone_page):
    the_procedure()
    page = phone_page

    def fits():
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide on a 360 px screen"

    page.goto(f"{HOME}demarches/")
    expect(heading(page)).to_have_text("Les démarches")
    fits()
    assert_accessible(page)
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Commencer").click()
    expect(page.get_by_role("button", name="Aller à l'étape 2")).to_be_visible()
    fits()
    assert_accessible(page)
    page.get_by_role("button", name="Annuler la démarche").click()
    expect(page.get_by_text(f"Votre démarche « {TITLE} » est annulée.")).to_be_visible()
    assert not Demande.objects.exists()
