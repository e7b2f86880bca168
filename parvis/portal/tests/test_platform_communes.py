"""The platform's page at / for a thousand communes (issue 18): searched by name or postal code
without regard to case or accents, paginated, the same queries whatever the number of communes."""

from __future__ import annotations

import lxml.html
import pytest

from parvis.communes.selectors_platform import search_terms, searched_communes
from parvis.communes.tests.factories import CommuneFactory
from parvis.portal.views import COMMUNES_PER_PAGE

pytestmark = pytest.mark.django_db


def page_of(response):
    assert response.status_code == 200
    return lxml.html.fromstring(response.content.decode())


def listed(tree) -> list[str]:
    return [
        link.text_content().strip()
        for link in tree.xpath("//main//ul[@class='card-list']/li/a[@class='card__link']")
    ]


def status(tree) -> str:
    (region,) = tree.xpath("//*[@role='status']")
    return " ".join(region.text_content().split())


def test_search_terms_are_folded_words():
    assert search_terms(" Saint-ÉTIENNE  l’Œuf\x00") == ["saint", "etienne", "l", "oeuf"]
    assert search_terms("--- ") == []


@pytest.mark.parametrize("query", ["saint etienne", "SAINT-ÉTIENNE", "étienne", "Saint  Étienne"])
def test_a_commune_is_found_without_regard_to_case_accents_or_hyphens(client, query):
    CommuneFactory(name="Saint-Étienne", slug="saint-etienne", postal_code="42000")
    CommuneFactory(name="Saint-Denis", slug="saint-denis", postal_code="93200")
    CommuneFactory(name="Étienne-Ville fermée", slug="etienne-fermee", is_active=False)
    tree = page_of(client.get("/", {"q": query}))
    assert listed(tree) == ["Saint-Étienne"]
    assert status(tree) == f"1 commune correspond à « {' '.join(query.split())} »."


def test_a_commune_is_found_by_the_start_of_its_postal_code(client):
    CommuneFactory(name="Carrières-sous-Poissy", slug="csp", postal_code="78955")
    CommuneFactory(name="Carrières-sur-Seine", slug="css", postal_code="78420")
    CommuneFactory(name="Lyon", slug="lyon", postal_code="69001")
    assert listed(page_of(client.get("/", {"q": "789"}))) == ["Carrières-sous-Poissy"]
    assert listed(page_of(client.get("/", {"q": "78"}))) == [
        "Carrières-sous-Poissy",
        "Carrières-sur-Seine",
    ]
    # Not in the middle of a code: « 955 » is nobody's.
    assert listed(page_of(client.get("/", {"q": "955"}))) == []
    # A name and a code together narrow the list.
    assert listed(page_of(client.get("/", {"q": "carrieres 784"}))) == ["Carrières-sur-Seine"]


def test_names_starting_with_the_search_come_first():
    for name in ("Cormeilles-en-Parisis", "Paris", "Aparis", "Parisot"):
        CommuneFactory(name=name, slug=name.lower())
    assert [c.name for c in searched_communes("paris")] == [
        "Paris",
        "Parisot",
        "Aparis",
        "Cormeilles-en-Parisis",
    ]
    # Without a search: by name.
    assert [c.name for c in searched_communes("")] == [
        "Aparis",
        "Cormeilles-en-Parisis",
        "Paris",
        "Parisot",
    ]


def test_no_result_says_so_in_french_and_offers_the_whole_list(client):
    CommuneFactory(name="Carrières-sous-Poissy", slug="csp")
    tree = page_of(client.get("/", {"q": "Atlantide"}))
    assert listed(tree) == []
    assert status(tree) == "Aucune commune ne correspond à « Atlantide »."
    text = " ".join(tree.xpath("//main")[0].text_content().split())
    assert "Vérifiez l'orthographe, ou cherchez par code postal." in text
    assert [a.get("href") for a in tree.xpath("//main//a") if "Voir toutes" in a.text_content()]
    assert tree.findtext(".//title").split()[:3] == ["Recherche", "«", "Atlantide"]


def test_the_search_field_is_labelled_and_keeps_what_was_typed(client):
    CommuneFactory()
    tree = page_of(client.get("/", {"q": "  saint  "}))
    (form,) = tree.xpath("//form[@role='search']")
    assert form.get("method") == "get"
    (field,) = form.xpath(".//input[@name='q']")
    (label,) = form.xpath(f".//label[@for='{field.get('id')}']")
    assert label.text_content().strip() == "Rechercher votre commune"
    assert field.get("value") == "saint"
    assert field.get("type") == "search"
    assert tree.get_element_by_id(field.get("aria-describedby")) is not None


def test_the_list_is_paginated_and_the_links_keep_the_search(client):
    for n in range(45):
        CommuneFactory(name=f"Saint-Rémy {n:02d}", slug=f"saint-remy-{n}")
    CommuneFactory(name="Autre", slug="autre")
    first = page_of(client.get("/", {"q": "saint remy"}))
    assert listed(first) == [f"Saint-Rémy {n:02d}" for n in range(COMMUNES_PER_PAGE)]
    assert status(first) == "45 communes correspondent à « saint remy ». Page 1 sur 3."
    (next_link,) = first.xpath("//nav[@class='pagination']//a[@rel='next']")
    assert next_link.text_content().strip() == "Page suivante"
    assert next_link.get("href") == "?q=saint+remy&page=2"
    third = page_of(client.get("/", {"q": "saint remy", "page": "3"}))
    assert listed(third) == [f"Saint-Rémy {n:02d}" for n in range(40, 45)]
    (previous_link,) = third.xpath("//nav[@class='pagination']//a[@rel='prev']")
    assert previous_link.text_content().strip() == "Page précédente"
    assert previous_link.get("href") == "?q=saint+remy&page=2"
    assert not third.xpath("//nav[@class='pagination']//a[@rel='next']")
    # A page out of range or not a number: the nearest page, never an error.
    assert listed(page_of(client.get("/", {"q": "saint remy", "page": "99"}))) == listed(third)
    assert listed(page_of(client.get("/", {"page": "abc"})))[0] == "Autre"
    whole = page_of(client.get("/"))
    assert status(whole) == "46 communes en ligne. Page 1 sur 3."
    assert len(listed(whole)) == COMMUNES_PER_PAGE


def test_without_any_commune_online_the_page_says_so(client):
    CommuneFactory(name="Hors ligne", slug="hors-ligne", is_active=False)
    tree = page_of(client.get("/"))
    assert listed(tree) == []
    assert status(tree) == "Aucune commune n'est encore en ligne."


def test_offline_communes_are_neither_listed_nor_counted(client):
    CommuneFactory(name="En ligne", slug="en-ligne")
    CommuneFactory(name="Hors ligne", slug="hors-ligne", is_active=False)
    tree = page_of(client.get("/"))
    assert listed(tree) == ["En ligne"]
    assert status(tree) == "1 commune en ligne."
    assert listed(page_of(client.get("/", {"q": "ligne"}))) == ["En ligne"]


@pytest.mark.parametrize("query", ["a\x00b", "\x00", "x" * 5000, "%", "_", "'; --"])
def test_odd_searches_are_answered(client, query):
    CommuneFactory(name="Commune 100%", slug="commune-100")
    CommuneFactory(name="Autre_nom", slug="autre-nom")
    assert client.get("/", {"q": query}).status_code == 200
    # LIKE's wildcards are searched as themselves (dropped as separators: nothing left to match
    # beyond every commune).
    assert len(listed(page_of(client.get("/", {"q": "_"})))) == 2


@pytest.mark.parametrize("communes", [3, 60])
@pytest.mark.parametrize("query", ["", "commune", "ÉTIENNE 78", "zzz"])
def test_the_page_costs_two_queries_whatever_the_number_of_communes(
    client, django_assert_max_num_queries, communes, query
):
    for n in range(communes):
        CommuneFactory(name=f"Commune Saint-Étienne {n}", slug=f"commune-{n}", postal_code="78000")
    with django_assert_max_num_queries(2):
        response = client.get("/", {"q": query, "page": "2"})
    assert response.status_code == 200
    assert len(listed(page_of(response))) <= COMMUNES_PER_PAGE
