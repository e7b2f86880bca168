"""Issue 21's journey, with axe on every page: the administrator of Carrières-sous-Poissy builds
a procedure of three steps with a conditional field and a file, previews it at phone width and
publishes it; a citizen files it without an account (on a phone); the procedure is changed and
version 2 published; the first request still shows version 1's questions; Carrières-sur-Seine
copies it from the library. The reordering is done with the keyboard only."""

import re

import pytest
from playwright.sync_api import expect

from parvis.testing.browser import DESKTOP_VIEWPORT, PHONE_VIEWPORT, assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"
CSS = "/carrieres-sur-seine/guichet/"


@pytest.fixture
def guichet_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_site


def add_field(page, step: int, label: str, kind: str):
    page.get_by_role("link", name=f"Ajouter un champ à l'étape {step}").click()
    page.get_by_label("Libellé du champ").fill(label)
    page.get_by_label("Type de champ").select_option(label=kind)
    page.get_by_role("button", name="Ajouter le champ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Champ « {label} »")


def add_step(page, title: str):
    page.get_by_label("Titre de l'étape").fill(title)
    page.get_by_role("button", name="Ajouter l'étape").click()
    expect(page.get_by_text("Étape ajoutée.")).to_be_visible()


def test_build_publish_file_change_and_share(guichet_site, browser_page, phone_page):
    from parvis.accounts.models import AgentRole
    from parvis.communes.models import Commune
    from parvis.demarches.models import Demande
    from parvis.families.tests.factories import PASSWORD
    from parvis.testing.guichet import make_agent

    page = browser_page
    log_in_agent(page, CSP, "admin-carrieres-sous-poissy")
    page.get_by_role("link", name="Concepteur de démarches").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Concepteur de démarches")
    assert_accessible(page)

    # Create, then three steps: a choice, a field shown only for one answer, an address, a file.
    page.get_by_role("link", name="Créer une démarche").click()
    page.get_by_label("Titre").fill("Permis de végétaliser")
    page.get_by_label("Catégorie").fill("Cadre de vie")
    page.get_by_label("Tout le monde, même sans compte").check()
    assert_accessible(page)
    page.get_by_role("button", name="Créer la démarche").click()
    expect(page.get_by_role("alert").first).to_contain_text("« fields » doit lister")
    assert_accessible(page)

    add_field(page, 1, "Type de plantation", "Choix unique (boutons radio)")
    page.get_by_label("Choix proposés").fill("Arbre\nJardinière")
    page.get_by_label("Réponse obligatoire").check()
    assert_accessible(page)
    page.get_by_role("button", name="Enregistrer le champ").click()

    add_field(page, 1, "Essence de l'arbre", "Texte court (une ligne)")
    page.get_by_label("Afficher seulement si le champ").select_option(label="Type de plantation")
    page.get_by_label("Opérateur").select_option(label="est égal à")
    page.get_by_label("Type de plantation : Arbre").check()
    page.get_by_label("Réponse obligatoire").check()
    assert_accessible(page)
    page.get_by_role("button", name="Enregistrer le champ").click()
    expect(page.get_by_text("Affiché si « Type de plantation » vaut « Arbre »")).to_be_visible()

    add_step(page, "Le lieu")
    add_field(page, 2, "Adresse du lieu", "Adresse postale")
    page.get_by_label("Réponse obligatoire").check()
    page.get_by_role("button", name="Enregistrer le champ").click()
    add_field(page, 2, "Précisions", "Texte long (plusieurs lignes)")
    page.get_by_label("Réponse obligatoire").uncheck()
    page.get_by_label("Longueur maximale").fill("500")
    page.get_by_role("button", name="Enregistrer le champ").click()
    add_step(page, "Pièces")
    add_field(page, 3, "Photo du lieu", "Fichier (PDF, JPEG ou PNG)")
    page.get_by_role("button", name="Enregistrer le champ").click()

    # Reorder from the keyboard only: « Précisions » above « Adresse du lieu ».
    move_up = page.get_by_role("button", name="Monter « Précisions »")
    move_up.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("« Précisions » déplacé en position 1.")).to_be_visible()
    step2 = page.locator("#etape-2 .builder-field")
    expect(step2.first).to_contain_text("Précisions")
    assert_accessible(page)

    # The preview at phone width, its checks active.
    page.set_viewport_size(PHONE_VIEWPORT)
    page.get_by_role("link", name="Aperçu comme un habitant").click()
    expect(page.get_by_text("1 - Ma demande").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce champ est obligatoire.")
    assert_accessible(page)
    page.get_by_role("radio", name="Arbre").check()
    page.get_by_label("Essence de l'arbre").fill("Tilleul")
    page.get_by_role("button", name="Aller à l'étape 2").click()
    page.locator('[name="adresse_du_lieu__street"]').fill("3, rue des Écoles")
    page.locator('[name="adresse_du_lieu__postal_code"]').fill("78955")
    page.locator('[name="adresse_du_lieu__city"]').fill("Carrières-sous-Poissy")
    page.get_by_role("button", name="Aller à l'étape 3").click()
    page.get_by_role("button", name="Aller à l'étape 4").click()
    expect(page.get_by_text("Fin de l'aperçu")).to_be_visible()
    expect(page.get_by_text("Tilleul")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Revenir au concepteur").first.click()
    page.set_viewport_size(DESKTOP_VIEWPORT)

    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_text("Version 1 publiée")).to_be_visible()
    assert_accessible(page)

    # A citizen without an account files it, on a phone.
    citizen = phone_page
    citizen.goto("/carrieres-sous-poissy/demarches/permis-de-vegetaliser/")
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Permis de végétaliser")
    citizen.get_by_role("button", name="Commencer").click()
    citizen.get_by_role("radio", name="Arbre").check()
    citizen.get_by_label("Essence de l'arbre").fill("Tilleul")
    citizen.get_by_role("button", name="Aller à l'étape 2").click()
    citizen.locator('[name="adresse_du_lieu__street"]').fill("3, rue des Écoles")
    citizen.locator('[name="adresse_du_lieu__postal_code"]').fill("78955")
    citizen.locator('[name="adresse_du_lieu__city"]').fill("Carrières-sous-Poissy")
    citizen.get_by_role("button", name="Aller à l'étape 3").click()
    assert_accessible(citizen)
    citizen.get_by_role("button", name="Aller à l'étape 4").click()
    citizen.get_by_label("Vos nom et prénom").fill("Jean MARTIN")
    citizen.get_by_label("Votre courriel").fill("jean.martin@example.fr")
    citizen.get_by_role("button", name="Valider").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Votre demande est envoyée")
    number = citizen.locator(".demarche-number").inner_text()
    assert_accessible(citizen)

    # Version 2: the choice is renamed.
    page.get_by_role("link", name="Modifier « Type de plantation »").click()
    page.get_by_label("Libellé", exact=True).fill("Nature de la plantation")
    page.get_by_role("button", name="Enregistrer le champ").click()
    expect(page.get_by_text("modifications ne sont pas encore publiées")).to_be_visible()
    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_text("Version 2 publiée")).to_be_visible()
    page.get_by_role("link", name="Historique des versions").click()
    expect(page.get_by_role("row").filter(has_text="2 (en ligne)")).to_be_visible()
    assert_accessible(page)

    # The first request is still read with version 1's questions.
    page.goto(f"{CSP}demandes/{number}/")
    expect(page.get_by_text("Type de plantation")).to_be_visible()
    expect(page.get_by_text("Nature de la plantation")).to_have_count(0)
    assert_accessible(page)
    demande = Demande.objects.get(number=number, commune__slug="carrieres-sous-poissy")
    assert demande.version.number == 1

    # Shared in the library, then copied by Carrières-sur-Seine.
    page.goto(f"{CSP}concepteur/")
    page.get_by_role("link", name="Permis de végétaliser").click()
    page.get_by_role("button", name="Partager dans la bibliothèque").click()
    expect(page.get_by_text("Démarche partagée")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()

    other = Commune.objects.get(slug="carrieres-sur-seine")
    make_agent(other, AgentRole.Role.ADMINISTRATEUR, username="css-concepteur")
    log_in_agent(page, CSS, "css-concepteur", password=PASSWORD)
    page.goto(f"{CSS}concepteur/bibliotheque/")
    assert_accessible(page)
    card = page.locator(".card").filter(has_text="Proposée par : Carrières-sous-Poissy")
    card.get_by_role("button", name="Copier dans ma commune").click()
    expect(page.get_by_text("est copiée dans vos démarches")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Permis de végétaliser")
    expect(page.get_by_text("Nature de la plantation", exact=True)).to_be_visible()
    assert_accessible(page)
    assert re.fullmatch(r"DEM-\d{4}-\d{6}", number)
