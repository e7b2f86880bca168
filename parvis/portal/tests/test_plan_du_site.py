"""« Plan du site » (RGAA 12.1: a second way to reach every page besides the menu): it lists the
public pages, the family space, the commune's procedures, the guichet's door, the display settings
and the statement; each of its links answers; every footer links it; its queries do not grow with
the number of procedures."""

import html
import re

import pytest
from django.urls import reverse

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import FamilyAccessFactory

pytestmark = pytest.mark.django_db

CITIZEN_BACKEND = "parvis.accounts.backends.CommuneBackend"


@pytest.fixture
def commune():
    return CommuneFactory(slug="planville", name="Planville")


def links_of(response) -> dict[str, str]:
    """The links of the page's <main>: label → href."""
    page = response.content.decode()
    main = re.search(r"<main\b.*?</main>", page, flags=re.S).group(0)
    return {
        html.unescape(re.sub(r"\s+", " ", label).strip()): html.unescape(href)
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', main, flags=re.S)
    }


def section_of(response, key: str) -> str:
    page = response.content.decode()
    match = re.search(rf'<section[^>]*aria-labelledby="plan-{key}".*?</section>', page, flags=re.S)
    assert match, key
    return match.group(0)


def test_the_plan_lists_every_kind_of_page(client, commune):
    ProcedureFactory(commune=commune, title="Acte de naissance", slug="acte-de-naissance")
    ProcedureFactory(commune=commune, title="Désactivée", is_enabled=False)
    ProcedureFactory(title="Démarche d'une autre commune")
    response = client.get("/planville/plan-du-site/")
    assert response.status_code == 200
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), flags=re.S).group(1)
    assert title.strip().startswith("Plan du site"), title
    links = links_of(response)
    slug = {"commune": "planville"}
    expected = {
        "Accueil": reverse("portal:home", kwargs=slug),
        "Actualités": reverse("portal:actualites", kwargs=slug),
        "Contacts": reverse("portal:contacts", kwargs=slug),
        "Se connecter": reverse("accounts:connexion", kwargs=slug),
        "Mon accueil": reverse("accounts:accueil", kwargs=slug),
        "Activités": reverse("activities:index", kwargs=slug),
        "Mon compte (factures et paiements)": reverse("billing:mon_compte", kwargs=slug),
        "Nouvelle démarche": reverse("demarches:catalogue", kwargs=slug),
        "Acte de naissance": reverse(
            "demarches:demarche", kwargs={**slug, "slug": "acte-de-naissance"}
        ),
        "Connexion des agents au guichet": reverse("backoffice:connexion", kwargs=slug),
        "Paramètres d'affichage": reverse("portal:affichage", kwargs=slug),
        "Déclaration d'accessibilité": reverse("portal:accessibilite", kwargs=slug),
        "Grille d'auto-évaluation RGAA": reverse("portal:accessibilite_grille", kwargs=slug),
    }
    for label, url in expected.items():
        assert links.get(label) == url, label
    # Only the procedures this commune offers.
    assert "Désactivée" not in links
    assert "Démarche d'une autre commune" not in links
    # The procedures sit in their own section, the guichet's door in its own.
    assert "Acte de naissance" in section_of(response, "demarches")
    assert "Connexion des agents" in section_of(response, "guichet")


def test_the_family_space_says_a_login_is_needed_unless_logged_in_as_a_family(client, commune):
    note = "demandent d'être connecté à votre espace famille"
    anonymous = client.get("/planville/plan-du-site/")
    assert note in section_of(anonymous, "famille")
    access = FamilyAccessFactory(famille__commune=commune)
    client.force_login(access.user, backend=CITIZEN_BACKEND)
    logged_in = client.get("/planville/plan-du-site/")
    assert note not in logged_in.content.decode()
    # The same pages are listed either way.
    assert section_of(logged_in, "famille").count("<li>") == section_of(anonymous, "famille").count(
        "<li>"
    )


def test_no_sign_up_link_in_code_famille_mode(client, commune):
    CommuneFactory(slug="codeville", login_with_email=False, login_with_family_code=True)
    links = links_of(client.get("/codeville/plan-du-site/"))
    assert "Créer mon espace" not in links
    assert "Se connecter" in links
    assert "Créer mon espace" in links_of(client.get("/planville/plan-du-site/"))


def test_a_family_sees_its_space_without_the_login_doors(client, commune):
    access = FamilyAccessFactory(famille__commune=commune)
    client.force_login(access.user, backend=CITIZEN_BACKEND)
    links = links_of(client.get("/planville/plan-du-site/"))
    for door in ("Se connecter", "Créer mon espace", "Mot de passe oublié"):
        assert door not in links
    assert "Mon accueil" in links


@pytest.mark.parametrize("as_family", [False, True], ids=["anonymous", "family"])
def test_every_link_of_the_plan_answers(client, commune, as_family):
    ProcedureFactory(commune=commune, slug="acte-de-naissance")
    if as_family:
        access = FamilyAccessFactory(famille__commune=commune)
        client.force_login(access.user, backend=CITIZEN_BACKEND)
    links = links_of(client.get("/planville/plan-du-site/"))
    assert len(links) > 25
    login = reverse("accounts:connexion", kwargs={"commune": "planville"})
    for label, url in links.items():
        response = client.get(url)
        assert response.status_code in (200, 302), (label, url, response.status_code)
        if response.status_code == 302:
            # A page of the family space sends an anonymous visitor to the login, nowhere else.
            assert not as_family, (label, url)
            assert response["Location"].startswith(login), (label, url)


def test_every_footer_links_the_plan(client, commune):
    for path in ("", "contacts/", "accessibilite/", "connexion/"):
        page = client.get(f"/planville/{path}").content.decode()
        footer = re.search(r"<footer\b.*?</footer>", page, flags=re.S).group(0)
        assert '<a href="/planville/plan-du-site/">Plan du site</a>' in footer, path


def test_the_plans_queries_do_not_grow_with_the_procedures(
    client, commune, django_assert_max_num_queries
):
    ProcedureFactory(commune=commune)
    with django_assert_max_num_queries(20) as few:
        client.get("/planville/plan-du-site/")
    ProcedureFactory.create_batch(15, commune=commune)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/planville/plan-du-site/")
    assert len(section_of(response, "demarches").split("<li>")) == 1 + 1 + 16
