"""A procedure without an account asks the requester's name and e-mail once: when its steps ask
them (« 4 - Vos coordonnées »), the summary shows them with « Modifier » and files the request with
them, and the tracking code goes to that e-mail; what the steps did not ask, the summary asks.
Each test fails without the behaviour it names."""

import re

import pytest
from django.core import mail

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import demo as demarches_demo
from parvis.demarches.links import step_url
from parvis.demarches.models import Demande, Procedure, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.test_shipped_procedures import valid_value
from parvis.demarches.tests.test_wizard import (
    error_of,
    file_upload,
    png,
    send,
    start,
    summary_url,
    text_of,
    valider,
)
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

# As the shipped « Demande d'acte de naissance »: the requester's details at « 2 - Vos
# coordonnées », pre-filled for an account.
COORDONNEES = {
    "steps": [
        {
            "title": "L'acte demandé",
            "fields": [{"name": "objet", "label": "Objet", "type": "text"}],
        },
        {
            "title": "Vos coordonnées",
            "fields": [
                {
                    "name": "demandeur_nom",
                    "label": "Votre nom",
                    "type": "text",
                    "prefill": "user.last_name",
                },
                {
                    "name": "demandeur_prenom",
                    "label": "Votre prénom",
                    "type": "text",
                    "prefill": "user.first_name",
                },
                {
                    "name": "demandeur_email",
                    "label": "Votre adresse électronique",
                    "type": "email",
                    "prefill": "user.email",
                },
            ],
        },
    ]
}
STEP1 = {"objet": "Copie intégrale"}
STEP2 = {
    "demandeur_nom": "MARTIN",
    "demandeur_prenom": "Jean",
    "demandeur_email": "Jean.Martin@example.fr",
}

# The name asked only when someone else files it (« Recensement citoyen »): the e-mail is known,
# the name may not be.
DECLARANT = {
    "steps": [
        {
            "title": "Qui fait la démarche ?",
            "fields": [
                {
                    "name": "declarant",
                    "label": "La démarche est faite par",
                    "type": "choice",
                    "choices": [["jeune", "Le jeune"], ["representant", "Un représentant"]],
                },
                {
                    "name": "demandeur_nom",
                    "label": "Nom du représentant légal",
                    "type": "text",
                    "prefill": "user.last_name",
                    "show_if": {"field": "declarant", "equals": "representant"},
                },
                {
                    "name": "demandeur_email",
                    "label": "Adresse électronique pour le suivi de la demande",
                    "type": "email",
                    "prefill": "user.email",
                },
            ],
        }
    ]
}


@pytest.fixture
def commune():
    return CommuneFactory()


@pytest.fixture
def coordonnees(commune):
    return ProcedureFactory(commune=commune, definition=COORDONNEES, title="Acte de naissance")


def inputs(response) -> list[str]:
    return re.findall(r'<input[^>]*name="([^"]+)"', response.content.decode())


def test_the_summary_shows_the_contact_details_of_the_steps_instead_of_asking_them_again(
    client, coordonnees
):
    demande = start(client, coordonnees)
    send(client, demande, 1, STEP1)
    assert send(client, demande, 2, STEP2)["Location"] == summary_url(demande)
    summary = client.get(summary_url(demande))
    assert summary.status_code == 200
    assert "contact_name" not in inputs(summary)
    assert "contact_email" not in inputs(summary)
    text = text_of(summary)
    assert "Pour vous répondre" in text
    assert "Vos nom et prénom Jean MARTIN" in text
    assert "Votre courriel Jean.Martin@example.fr" in text
    assert "Modifier vos nom et prénom, à l'étape 2" in text
    assert "Modifier votre courriel, à l'étape 2" in text
    assert summary.content.decode().count(f'href="{step_url(demande, 2)}"') == 3  # and the step's
    assert "indiquez où la mairie peut vous répondre" not in text
    # The step's own « Modifier » leads back to it, where they are changed.
    assert 'value="Jean.Martin@example.fr"' in client.get(step_url(demande, 2)).content.decode()


def test_valider_files_with_the_steps_contact_details_and_mails_the_tracking_code(
    client, coordonnees, django_capture_on_commit_callbacks
):
    demande = start(client, coordonnees)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    with django_capture_on_commit_callbacks(execute=True):
        response = valider(client, demande)
    assert response.status_code == 302
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    assert (demande.contact_name, demande.contact_email) == (
        "Jean MARTIN",
        "jean.martin@example.fr",
    )
    page = client.get(response["Location"])
    code = re.search(r'<strong class="demarche-code">([A-Z0-9]+)</strong>', page.text).group(1)
    [message] = mail.outbox
    assert message.to == ["jean.martin@example.fr"]
    assert demande.number in message.body and f"Code de suivi : {code}" in message.body


def test_a_contact_detail_changed_at_its_step_is_the_one_filed(client, coordonnees):
    demande = start(client, coordonnees)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    send(client, demande, 2, {**STEP2, "demandeur_email": "jean@example.org"})
    assert "Votre courriel jean@example.org" in text_of(client.get(summary_url(demande)))
    valider(client, demande)
    demande.refresh_from_db()
    assert demande.contact_email == "jean@example.org"


def test_the_summary_asks_only_what_the_steps_did_not(client, commune):
    procedure = ProcedureFactory(commune=commune, definition=DECLARANT)
    demande = start(client, procedure)
    send(client, demande, 1, {"declarant": "jeune", "demandeur_email": "lea@example.fr"})
    summary = client.get(summary_url(demande))
    assert "contact_name" in inputs(summary)
    assert "contact_email" not in inputs(summary)
    assert "Votre courriel lea@example.fr" in text_of(summary)
    response = valider(client, demande, {"contact_name": ""})
    assert response.status_code == 200
    assert "obligatoire" in error_of(response, "id_contact_name")
    assert "Votre courriel lea@example.fr" in text_of(response)
    valider(client, demande, {"contact_name": "Léa Petit"})
    demande.refresh_from_db()
    assert (demande.status, demande.contact_name, demande.contact_email) == (
        Status.EN_ATTENTE,
        "Léa Petit",
        "lea@example.fr",
    )

    # Filed by a representative: the name is asked at the step, so not on the summary.
    demande = start(client, procedure)
    send(
        client,
        demande,
        1,
        {"declarant": "representant", "demandeur_nom": "PETIT", "demandeur_email": "a@example.fr"},
    )
    summary = client.get(summary_url(demande))
    assert "contact_name" not in inputs(summary)
    assert "Vos nom et prénom PETIT" in text_of(summary)


def test_a_procedure_whose_steps_ask_no_contact_details_asks_them_on_the_summary(client, commune):
    procedure = ProcedureFactory(commune=commune)  # the simple definition: no « Vos coordonnées »
    demande = start(client, procedure)
    send(client, demande, 1, {"objet": "Copie", "livraison": "mairie"})
    send(client, demande, 2)
    summary = client.get(summary_url(demande))
    assert {"contact_name", "contact_email"} <= set(inputs(summary))
    assert "indiquez où la mairie peut vous répondre" in text_of(summary)
    assert valider(client, demande).status_code == 200
    assert Demande.objects.get().status == Status.BROUILLON


def test_an_account_holder_is_not_shown_the_contact_block(client, coordonnees):
    client.force_login(CitizenFactory(commune=coordonnees.commune, email="f@example.fr"))
    demande = start(client, coordonnees)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    text = text_of(client.get(summary_url(demande)))
    assert "Vous faites cette démarche sans compte" not in text
    assert "les réponses de la mairie vous sont envoyées à f@example.fr" in text


def test_the_shipped_birth_certificate_asks_the_contact_details_once(client, demo_communes):
    """« Demande d'acte de naissance » as shipped, through its pages: « 4 - Vos coordonnées »,
    then a summary that shows them and files without asking again."""
    demarches_demo.load()
    procedure = Procedure.objects.get(
        commune__slug="carrieres-sous-poissy", slug="acte-de-naissance"
    )
    assert procedure.definition["steps"][3]["title"] == "Vos coordonnées"
    demande = start(client, procedure)
    for number, step in enumerate(procedure.definition["steps"], start=1):
        demande.refresh_from_db()
        values = {}
        for spec in step["fields"]:
            if spec["type"] == "file":
                values[spec["name"]] = file_upload("livret.png", png(), "image/png")
            else:
                values.update(valid_value(spec, spec["name"], demande.answers))
        response = client.post(step_url(demande, number), {**values, "action": "suivant"})
        assert response.status_code == 302, (number, text_of(response))
    summary = client.get(summary_url(demande))
    assert "contact_email" not in inputs(summary)
    assert "contact_name" not in inputs(summary)
    assert "Votre courriel demandeur@example.fr" in text_of(summary)
    assert valider(client, demande).status_code == 302
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE
    assert demande.contact_email == "demandeur@example.fr"
    assert demande.contact_name == "Réponse de test Réponse de test"
