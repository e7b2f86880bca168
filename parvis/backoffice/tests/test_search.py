"""Finding a family: by name, a member's name or e-mail, an account's e-mail or the reference;
whatever the case and the accents, on SQLite and PostgreSQL alike."""

import pytest
from django.test import Client

from parvis.accounts.models import AgentRole
from parvis.backoffice.tests.conftest import make_agent, text_of
from parvis.families.selectors import fold, search_familles
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db

HOME = "/villebois/guichet/"


@pytest.fixture
def families(commune):
    durand = FamilleFactory(commune=commune, name="Durand", number=1)
    PersonneFactory(famille=durand, first_names="Françoise", email="f.durand@example.fr")
    ChildFactory(famille=durand, first_names="Léa")
    ChildFactory(famille=durand, first_names="Hugo")
    leroy = FamilleFactory(commune=commune, name="LEROY", number=2)
    ChildFactory(famille=leroy, first_names="Inès", last_name="LEROY-ŒUVRARD")
    FamilyAccessFactory(
        famille=leroy,
        user=CitizenFactory(commune=commune, email="nadia.leroy@example.fr"),
    )
    moreau = FamilleFactory(commune=commune, name="MOREAU", number=12)
    ChildFactory(famille=moreau, first_names="Lea")  # typed without its accent
    return {"durand": durand, "leroy": leroy, "moreau": moreau}


def names(commune, query):
    return sorted(f.name for f in search_familles(commune, query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("DURAND", ["Durand"]),
        ("durand", ["Durand"]),
        ("leroy", ["LEROY"]),
        ("Lea", ["Durand", "MOREAU"]),
        ("léa", ["Durand", "MOREAU"]),
        ("LÉA", ["Durand", "MOREAU"]),
        ("ines", ["LEROY"]),
        ("oeuvrard", ["LEROY"]),
        ("Œuvrard", ["LEROY"]),
        ("françoise", ["Durand"]),
        ("francoise", ["Durand"]),
        ("Léa Durand", ["Durand"]),  # every word must match
        ("hugo moreau", []),
        ("NADIA.LEROY@example.FR", ["LEROY"]),  # an account's e-mail
        ("f.durand@example.fr", ["Durand"]),  # a member's e-mail
        ("F000002", ["LEROY"]),
        ("f2", ["LEROY"]),
        ("000012", ["MOREAU"]),
        ("%", []),  # LIKE wildcards are searched for, not used
        ("_", []),
        ("", ["Durand", "LEROY", "MOREAU"]),
    ],
)
def test_search(commune, families, query, expected):
    assert names(commune, query) == expected


def test_fold():
    assert fold("Éloïse LEROY-ŒUVRARD à Noël") == "eloise leroy-oeuvrard a noel"
    assert fold("Ça") == fold("ca") == "ca"
    assert fold(None) == ""


def test_the_page_lists_the_results_with_the_childrens_names(client, commune, families):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    response = client.get(HOME, {"q": "Lea"})
    assert response.status_code == 200
    text = text_of(response)
    assert "2 familles trouvées pour « Lea »" in text
    assert "Famille Durand Dossier F000001" in text
    assert "Enfants : Hugo DURAND , Léa DURAND" in text or "Enfants : Léa DURAND , Hugo DURAND" in (
        text
    )
    assert "Famille MOREAU" in text and "LEROY" not in text
    assert 'href="/villebois/guichet/familles/12/"' in response.content.decode()
    # The entry stays in the box.
    assert 'value="Lea"' in response.content.decode()


def test_no_result(client, commune, families):
    client.force_login(make_agent(commune))
    text = text_of(client.get(HOME, {"q": "Personne"}))
    assert "Aucune famille trouvée" in text
    assert "Aucune famille ne correspond à cette recherche." in text


def test_results_are_paginated_and_keep_the_query(client, commune):
    for number in range(1, 26):
        FamilleFactory(commune=commune, name=f"MARTIN{number:02d}", number=number)
    client.force_login(make_agent(commune))
    first = client.get(HOME, {"q": "martin"})
    assert len(first.context["page"].object_list) == 20
    assert 'href="?q=martin&amp;page=2"' in first.content.decode()
    second = client.get(HOME, {"q": "martin", "page": 2})
    assert [f.name for f in second.context["page"].object_list] == [
        f"MARTIN{n}" for n in range(21, 26)
    ]


def test_the_search_page_costs_the_same_whatever_the_number_of_families(
    commune, django_assert_max_num_queries
):
    client = Client()
    client.force_login(make_agent(commune))

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(HOME, {"q": "durand"}).status_code == 200
        return len(queries)

    famille = FamilleFactory(commune=commune, name="DURAND", number=1)
    ChildFactory(famille=famille)
    PersonneFactory(famille=famille)
    with_one = count_queries()

    for number in range(2, 22):
        famille = FamilleFactory(commune=commune, name="DURAND", number=number)
        PersonneFactory(famille=famille)
        PersonneFactory(famille=famille, first_names="Marc")
        for _ in range(3):
            ChildFactory(famille=famille)
    with django_assert_max_num_queries(with_one):
        response = client.get(HOME, {"q": "durand"})
    assert len(response.context["page"].object_list) == 20
    assert with_one <= 10
