"""« Nouvelle démarche » (seed 000: « LES DÉMARCHES », « votre recherche »): the catalogue by
category, the search that ignores accents and case, the « Possible sans compte » mark, and a
procedure's page with « Commencer ». Each test fails without the behaviour it names."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.decorators import DRAFT_KEY_SESSION
from parvis.demarches.models import Audience, Demande, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import (
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db


def catalogue_url(commune, **params) -> str:
    url = reverse("demarches:catalogue", kwargs={"commune": commune.slug})
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def page_url(procedure) -> str:
    return reverse(
        "demarches:demarche", kwargs={"commune": procedure.commune.slug, "slug": procedure.slug}
    )


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def headings(response, level: int) -> list[str]:
    found = re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", response.content.decode(), re.S)
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", h)).replace("&#x27;", "'").strip() for h in found
    ]


def titles(response) -> list[str]:
    return headings(response, 3)


@pytest.fixture
def commune():
    return CommuneFactory()


@pytest.fixture
def civil_status(commune):
    """A small catalogue, created out of the seed's order."""
    make = ProcedureFactory
    return {
        "seniors": make(commune=commune, category="Seniors", title="Repas des seniors"),
        "autre": make(commune=commune, category="Culture", title="Carte de la médiathèque"),
        "mariage": make(
            commune=commune, title="Demande d'acte de mariage", position=2, keywords="union"
        ),
        "naissance": make(
            commune=commune,
            title="Demande d'acte de naissance",
            position=1,
            keywords="copie intégrale extrait filiation",
        ),
        "listes": make(
            commune=commune,
            category="Listes électorales",
            title="Inscription sur les listes électorales",
        ),
        "creche": make(
            commune=commune,
            category="Petite Enfance",
            title="Pré-inscription en crèche",
            keywords="bebe accueil jeune enfant",
            audience=Audience.ACCOUNT,
        ),
    }


# --- The catalogue -------------------------------------------------------------------------------


def test_procedures_are_grouped_by_category_in_the_seeds_order(client, commune, civil_status):
    response = client.get(catalogue_url(commune))
    assert response.status_code == 200
    assert "Les démarches" in headings(response, 1)
    assert headings(response, 2)[-5:] == [
        "Actes d'état civil",
        "Listes électorales",
        "Petite Enfance",
        "Seniors",
        "Culture",  # the others after the seed's categories
    ]
    # Within a category, by position.
    assert titles(response)[:2] == ["Demande d'acte de naissance", "Demande d'acte de mariage"]
    assert 'href="#categorie-1"' in response.text  # the categories, as links to their section


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acte de naissance", ["Demande d'acte de naissance"]),
        ("NAISSANCE", ["Demande d'acte de naissance"]),
        ("électorales", ["Inscription sur les listes électorales"]),
        ("electorales", ["Inscription sur les listes électorales"]),
        ("ELECTORALE", ["Inscription sur les listes électorales"]),
        ("Actes", ["Demande d'acte de naissance", "Demande d'acte de mariage"]),
        ("integrale", ["Demande d'acte de naissance"]),  # a keyword, without its accent
        ("bébé", ["Pré-inscription en crèche"]),  # a keyword typed with accents
        ("naissance mariage", []),
    ],
)
def test_the_search_ignores_accents_and_case_and_looks_at_titles_and_keywords(
    client, commune, civil_status, query, expected
):
    response = client.get(catalogue_url(commune), {"q": query})
    assert response.status_code == 200
    assert titles(response) == expected
    assert f'value="{query}"' in response.text  # the box keeps the search
    if not expected:
        assert "Aucune démarche ne correspond à votre recherche." in text_of(response)
    else:
        assert f"correspond{'' if len(expected) == 1 else 'ent'} à « {query} »" in (
            text_of(response)
        )


def test_the_search_box_is_labelled_votre_recherche(client, commune, civil_status):
    response = client.get(catalogue_url(commune))
    assert re.search(r'<label for="demarches-recherche">Votre recherche</label>', response.text), (
        response.text
    )
    assert re.search(r'<input id="demarches-recherche"\s+type="search"\s+name="q"', response.text)


def test_procedures_possible_without_account_say_so_in_words(client, commune, civil_status):
    text = text_of(client.get(catalogue_url(commune)))
    anyone = text.split("Demande d'acte de naissance", 1)[1].split("Demande d'acte de mariage")[0]
    assert "Possible sans compte" in anyone
    creche = text.split("Pré-inscription en crèche", 1)[1].split("Seniors")[0]
    assert "Avec votre espace" in creche
    assert "Possible sans compte" not in creche
    assert "Durée approximative : 5 mn" in anyone


def test_a_procedure_needing_an_account_leads_anonymous_visitors_to_the_login(
    client, commune, civil_status
):
    response = client.get(catalogue_url(commune))
    creche = civil_status["creche"]
    login = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    expected = f'href="{login}?next={page_url(creche).replace("/", "%2F")}"'
    assert expected in response.text
    # A citizen of the commune goes straight to the procedure.
    client.force_login(CitizenFactory(commune=commune))
    response = client.get(catalogue_url(commune))
    assert f'href="{page_url(creche)}"' in response.text


def test_disabled_and_other_communes_procedures_are_hidden_and_not_found(
    client, commune, civil_status
):
    hidden = ProcedureFactory(commune=commune, title="Démarche retirée", is_enabled=False)
    elsewhere = ProcedureFactory(title="Démarche d'une autre commune")
    text = text_of(client.get(catalogue_url(commune)))
    assert "Démarche retirée" not in text
    assert "Démarche d'une autre commune" not in text
    assert client.get(page_url(hidden)).status_code == 404
    assert client.post(page_url(hidden)).status_code == 404
    other = reverse("demarches:demarche", kwargs={"commune": commune.slug, "slug": elsewhere.slug})
    assert client.get(other).status_code == 404
    assert not Demande.objects.exists()


def test_the_catalogue_costs_the_same_number_of_queries_whatever_its_size(client, commune):
    ProcedureFactory.create_batch(2, commune=commune)
    client.get(catalogue_url(commune))  # the session, the commune's caches
    with CaptureQueriesContext(connection) as few:
        client.get(catalogue_url(commune), {"q": "démarche"})
    for n, category in enumerate(["Seniors", "Petite Enfance", "Autre", "Listes électorales"]):
        ProcedureFactory.create_batch(3, commune=commune, category=category, position=n)
    with CaptureQueriesContext(connection) as many:
        response = client.get(catalogue_url(commune), {"q": "démarche"})
    assert len(titles(response)) == 14
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_an_empty_catalogue_says_so(client, commune):
    response = client.get(catalogue_url(commune))
    assert "Aucune démarche n'est proposée en ligne pour le moment." in text_of(response)


def test_the_follow_up_pages_are_not_taken_for_a_procedure(commune):
    match = resolve(f"/{commune.slug}/demarches/suivi/")
    assert match.url_name == "suivi"
    assert resolve(f"/{commune.slug}/demarches/mes-demandes/").url_name == "tableau_de_bord"
    assert resolve(f"/{commune.slug}/demarches/suivie/").url_name == "demarche"


# --- A procedure's page --------------------------------------------------------------------------


def test_a_procedures_page_says_what_it_asks_and_who_may_file_it(client, commune):
    procedure = ProcedureFactory(
        commune=commune,
        title="Demande d'acte de naissance",
        description="Copie ou extrait d'un acte de naissance.",
        duration_minutes=4,
        definition={
            "steps": [
                {"title": "Ma demande", "fields": [{"name": "a", "label": "A", "type": "text"}]}
            ],
            "documents": ["Copie d'une pièce d'identité"],
        },
    )
    text = text_of(client.get(page_url(procedure)))
    assert "Demande d'acte de naissance" in text
    assert "Copie ou extrait d'un acte de naissance." in text
    assert "Durée approximative de cette démarche : 4 mn" in text
    assert "Documents à prévoir Copie d'une pièce d'identité" in text
    assert "Tout le monde, même sans compte" in text
    assert "Possible sans compte" in text
    assert "Commencer" in text
    assert procedure.service.name in text


def test_commencer_starts_a_draft_tied_to_the_anonymous_session(client, commune):
    procedure = ProcedureFactory(commune=commune)
    response = client.post(page_url(procedure))
    draft = Demande.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "demarches:etape",
        kwargs={"commune": commune.slug, "slug": procedure.slug, "pk": draft.pk, "step": 1},
    )
    assert draft.status == Status.BROUILLON
    assert draft.requester is None
    assert draft.draft_key and draft.draft_key == client.session[DRAFT_KEY_SESSION]
    assert client.get(response["Location"]).status_code == 200
    # Another browser (another session) does not reach it.
    assert Client().get(response["Location"]).status_code == 404
    # The procedure's page offers to resume it.
    text = text_of(client.get(page_url(procedure)))
    assert "Votre démarche en cours" in text
    assert "Reprendre la démarche" in text


def test_a_procedure_for_account_holders_sends_anonymous_visitors_to_the_login(client, commune):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ACCOUNT)
    login = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    text = text_of(client.get(page_url(procedure)))
    assert "Me connecter" in text
    assert "Commencer" not in text
    response = client.post(page_url(procedure))
    assert response.status_code == 302
    assert response["Location"] == f"{login}?next={page_url(procedure).replace('/', '%2F')}"
    assert not Demande.objects.exists()
    # Once logged in, « Commencer » opens a draft of the account.
    citizen = CitizenFactory(commune=commune)
    client.force_login(citizen)
    client.post(page_url(procedure))
    assert Demande.objects.get().requester == citizen


def test_a_family_procedure_explains_how_to_link_a_family_with_a_key(client, commune):
    procedure = ProcedureFactory(commune=commune, audience=Audience.FAMILY)
    citizen = CitizenFactory(commune=commune)
    client.force_login(citizen)
    response = client.get(page_url(procedure))
    text = text_of(response)
    assert "Votre espace n'est lié à aucune famille" in text
    assert "« Modification de votre espace », rubrique « Services »" in text
    modifier = reverse("accounts:modifier_espace", kwargs={"commune": commune.slug})
    assert f'href="{modifier}#services"' in response.text
    assert "Commencer" not in text
    assert client.post(page_url(procedure))["Location"] == page_url(procedure)
    assert not Demande.objects.exists()
    # Linked to a family, the account may start it.
    FamilyAccessFactory(famille=FamilleFactory(commune=commune), user=citizen)
    assert "Commencer" in text_of(client.get(page_url(procedure)))
    client.post(page_url(procedure))
    assert Demande.objects.get().requester == citizen
