"""« Mon compte » › « Adhésion à la facture en ligne » (seed 000: « Pour recevoir les factures en
ligne : 1. Cliquer sur « Mon compte » 2. Cliquer sur « Adhésion à la facture en ligne » »): the
family's current choice, paper or online, since when; the way to the two-step procedure; a change
still waiting for the service; and who pays the invoices. Constant queries."""

from datetime import date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.activities.rules import PARIS
from parvis.billing.tests.test_mon_compte import BACKEND, text_of
from parvis.demarches.tests.suivi_support import file_request, paperless_procedure
from parvis.families.services import choose_payeur, update_famille
from parvis.families.tests.factories import (
    AgentFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def durand():
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=PARIS), tick=False):
        access = FamilyAccessFactory(famille__name="DURAND")
    famille = access.famille
    francoise = PersonneFactory(
        famille=famille, first_names="Françoise", birth_date=date(1986, 4, 9)
    )
    marc = PersonneFactory(
        famille=famille, civility="m", first_names="Marc", birth_date=date(1984, 11, 2)
    )
    access.personne = francoise
    access.save(update_fields=["personne"])
    return {"famille": famille, "user": access.user, "marc": marc, "commune": famille.commune}


def mon_compte(client, data):
    client.force_login(data["user"], backend=BACKEND)
    response = client.get(reverse("billing:mon_compte", kwargs={"commune": data["commune"].slug}))
    assert response.status_code == 200
    return response


def test_a_family_on_paper_since_its_file_was_created_sees_it_and_the_way_to_change(client, durand):
    procedure = paperless_procedure(durand["commune"], auto_accept=True)
    response = mon_compte(client, durand)
    text = text_of(response)
    assert "Adhésion à la facture en ligne" in text
    assert "Vous avez la possibilité de modifier l'adhésion à la facture/compte en ligne." in text
    assert "Votre choix : Facture papier depuis le 05/01/2026" in text
    assert "Vos factures vous sont envoyées par la poste" in text
    target = reverse(
        "demarches:demarche", kwargs={"commune": durand["commune"].slug, "slug": procedure.slug}
    )
    assert (
        f'<a class="button" href="{target}">Adhésion à la facture en ligne</a>'
        in response.content.decode()
    )


def test_after_joining_the_family_sees_facture_en_ligne_since_that_day(client, durand):
    procedure = paperless_procedure(durand["commune"], auto_accept=True)
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=PARIS), tick=False):
        file_request(procedure, user=durand["user"], answers={"adhesion": "oui"})
    text = text_of(mon_compte(client, durand))
    assert "Votre choix : Facture en ligne depuis le 04/03/2026" in text
    assert "Vos factures vous sont envoyées par courriel" in text
    assert "Facture papier" not in text


def test_a_change_waiting_for_the_service_is_said(client, durand):
    procedure = paperless_procedure(durand["commune"])  # instructed by an agent
    demande, _code = file_request(procedure, user=durand["user"], answers={"adhesion": "oui"})
    text = text_of(mon_compte(client, durand))
    assert "Votre choix : Facture papier" in text
    assert (
        f"Votre demande n° {demande.number} est en cours (En attente d'instruction) : votre "
        "choix changera une fois la demande acceptée." in text
    )


def test_no_procedure_offered_no_link_but_the_choice_is_still_shown(client, durand):
    procedure = paperless_procedure(durand["commune"], is_enabled=False)
    response = mon_compte(client, durand)
    assert "Votre choix : Facture papier" in text_of(response)
    assert f"/{procedure.slug}/" not in response.content.decode()


def test_the_family_sees_who_pays_its_invoices(client, durand):
    text = text_of(mon_compte(client, durand))
    assert "Payeur des factures : Madame Françoise DURAND" in text
    assert "adressez-vous à elle pour changer de payeur" in text
    choose_payeur(
        famille=durand["famille"],
        actor=AgentFactory(commune=durand["commune"]),
        payeur=durand["marc"],
    )
    assert "Payeur des factures : Monsieur Marc DURAND" in text_of(mon_compte(client, durand))


def test_another_familys_choice_is_not_shown(client, durand):
    other = FamilleFactory(commune=durand["commune"], name="VOISIN")
    PersonneFactory(famille=other, first_names="Paul")
    update_famille(famille=other, actor=AgentFactory(commune=other.commune), paperless_invoice=True)
    text = text_of(mon_compte(client, durand))
    assert "Facture en ligne depuis" not in text
    assert "VOISIN" not in text and "Paul" not in text


def test_the_block_costs_the_same_queries_whatever_the_families(
    client, durand, django_assert_max_num_queries
):
    paperless_procedure(durand["commune"])
    client.force_login(durand["user"], backend=BACKEND)
    page = reverse("billing:mon_compte", kwargs={"commune": durand["commune"].slug})
    with CaptureQueriesContext(connection) as one:
        assert client.get(page).status_code == 200
    for n in range(2):
        famille = FamilleFactory(commune=durand["commune"], name=f"AUTRE{n}")
        PersonneFactory.create_batch(2, famille=famille)
        FamilyAccessFactory(famille=famille, user=durand["user"])
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(page)
    assert text_of(response).count("Votre choix : Facture papier") == 3
