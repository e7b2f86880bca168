"""Errors of the wizard said where they are and why: an address whose postal code is wrong says so
next to the postal code (not « numéro et voie : Ce champ est obligatoire »), a refused file says
why it was refused next to its field (not « Ce champ est obligatoire »), and every entry stays.
Each test fails without the behaviour it names."""

import pytest
from django.core.exceptions import ValidationError

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import forms as demarches_forms
from parvis.demarches.links import step_url
from parvis.demarches.models import DemandeAttachment
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.test_wizard import (
    HEIC,
    checked,
    error_of,
    file_upload,
    png,
    send,
    start,
    summary_url,
    text_of,
    value_of,
)

pytestmark = pytest.mark.django_db

POSTAL_CODE_ERROR = "Le code postal comporte 5 chiffres"  # the example is the commune's

# As « Demande d'acte de naissance » asks it at « 3 - Réception de l'acte »: the address is
# required when « Par courrier » is chosen on the same step.
RECEPTION = {
    "steps": [
        {
            "title": "Réception de l'acte",
            "fields": [
                {
                    "name": "livraison",
                    "label": "Mode de réception",
                    "type": "choice",
                    "choices": [["courrier", "Par courrier"], ["mairie", "Retrait en mairie"]],
                },
                {
                    "name": "adresse_envoi",
                    "label": "Adresse postale d'envoi",
                    "type": "address",
                    "show_if": {"field": "livraison", "equals": "courrier"},
                },
                {"name": "precision", "label": "Précision", "type": "text", "required": False},
            ],
        }
    ]
}

# An address asked without condition, required or not.
ADDRESSES = {
    "steps": [
        {
            "title": "Domicile",
            "fields": [
                {"name": "domicile", "label": "Adresse du domicile", "type": "address"},
                {
                    "name": "ancienne",
                    "label": "Ancienne adresse",
                    "type": "address",
                    "required": False,
                },
            ],
        }
    ]
}

# Two files on one step (as « Attestation d'hébergement » asks them), and one shown according
# to an answer of the same step.
FILES = {
    "steps": [
        {
            "title": "Pièces justificatives",
            "fields": [
                {"name": "commentaire", "label": "Commentaire", "type": "text", "required": False},
                {"name": "identite", "label": "Pièce d'identité", "type": "file", "required": True},
                {
                    "name": "domicile",
                    "label": "Justificatif de domicile",
                    "type": "file",
                    "required": True,
                },
                {"name": "tiers", "label": "Hébergé par un tiers", "type": "yesno"},
                {
                    "name": "attestation",
                    "label": "Attestation de l'hébergeant",
                    "type": "file",
                    "required": True,
                    "show_if": {"field": "tiers", "equals": "oui"},
                },
            ],
        }
    ]
}
STREET = "3, rue des Écoles"


@pytest.fixture
def commune():
    return CommuneFactory()


def no_error_next_to(response, field_id: str) -> bool:
    return f'id="{field_id}_error"' not in response.content.decode()


# --- Addresses -----------------------------------------------------------------------------------


def test_a_bad_postal_code_of_a_conditional_address_is_said_next_to_the_postal_code(
    client, commune
):
    demande = start(client, ProcedureFactory(commune=commune, definition=RECEPTION))
    response = send(
        client,
        demande,
        1,
        {
            "livraison": "courrier",
            "adresse_envoi__street": STREET,
            "adresse_envoi__postal_code": "7895",
            "adresse_envoi__city": "Carrières-sous-Poissy",
            "precision": "Bâtiment B",
        },
    )
    assert response.status_code == 200
    assert POSTAL_CODE_ERROR in error_of(response, "id_adresse_envoi__postal_code")
    assert no_error_next_to(response, "id_adresse_envoi__street")
    assert no_error_next_to(response, "id_adresse_envoi__city")
    assert "numéro et voie : Ce champ est obligatoire" not in text_of(response)
    # Every entry is kept, the wrong one too.
    assert value_of(response, "adresse_envoi__street") == STREET
    assert value_of(response, "adresse_envoi__postal_code") == "7895"
    assert value_of(response, "adresse_envoi__city") == "Carrières-sous-Poissy"
    assert value_of(response, "precision") == "Bâtiment B"
    demande.refresh_from_db()
    assert demande.current_step == 1


def test_a_conditional_address_half_filled_says_which_parts_are_missing(client, commune):
    demande = start(client, ProcedureFactory(commune=commune, definition=RECEPTION))
    response = send(client, demande, 1, {"livraison": "courrier", "adresse_envoi__street": STREET})
    assert no_error_next_to(response, "id_adresse_envoi__street")
    assert "Indiquez votre code postal." in error_of(response, "id_adresse_envoi__postal_code")
    assert "Ce champ est obligatoire." in error_of(response, "id_adresse_envoi__city")
    assert value_of(response, "adresse_envoi__street") == STREET

    # All three empty: each says it.
    response = send(client, demande, 1, {"livraison": "courrier"})
    assert "Ce champ est obligatoire." in error_of(response, "id_adresse_envoi__street")
    assert "Indiquez votre code postal." in error_of(response, "id_adresse_envoi__postal_code")
    assert "Ce champ est obligatoire." in error_of(response, "id_adresse_envoi__city")

    # Right: kept, and on to the summary.
    response = send(
        client,
        demande,
        1,
        {
            "livraison": "courrier",
            "adresse_envoi__street": STREET,
            "adresse_envoi__postal_code": "78 955",
            "adresse_envoi__city": "Carrières-sous-Poissy",
        },
    )
    assert response["Location"] == summary_url(demande)
    demande.refresh_from_db()
    assert demande.answers["adresse_envoi"]["postal_code"] == "78955"


def test_a_bad_postal_code_of_any_address_is_said_next_to_it(client, commune):
    demande = start(client, ProcedureFactory(commune=commune, definition=ADDRESSES))
    response = send(
        client,
        demande,
        1,
        {
            "domicile__street": STREET,
            "domicile__postal_code": "ABCDE",
            "domicile__city": "Carrières",
            "ancienne__street": "1, rue Neuve",
            "ancienne__postal_code": "123",
        },
    )
    for address in ("domicile", "ancienne"):
        assert POSTAL_CODE_ERROR in error_of(response, f"id_{address}__postal_code")
        assert no_error_next_to(response, f"id_{address}__street")
    assert value_of(response, "domicile__postal_code") == "ABCDE"
    assert value_of(response, "ancienne__street") == "1, rue Neuve"


# --- Files ---------------------------------------------------------------------------------------


def test_a_refused_file_next_to_an_accepted_one_says_why(client, commune):
    """The accepted file is joined at once (not to be sent again); the refused one keeps its
    reason, not « Ce champ est obligatoire »."""
    demande = start(client, ProcedureFactory(commune=commune, definition=FILES))
    response = client.post(
        step_url(demande, 1),
        {
            "commentaire": "Voici mes pièces",
            "identite": file_upload("identite.png", png(), "image/png"),
            "domicile": file_upload("IMG_0001.pdf", HEIC),
            "tiers": "non",
        },
    )
    assert response.status_code == 200
    error = error_of(response, "id_domicile")
    assert "« IMG_0001.pdf » est une photo HEIC (iPhone)" in error
    assert "obligatoire" not in error
    assert no_error_next_to(response, "id_identite")
    assert "Fichier déjà joint : identite.png." in text_of(response)
    assert value_of(response, "commentaire") == "Voici mes pièces"
    assert checked(response, "tiers") == ["non"]
    assert list(DemandeAttachment.objects.values_list("field_name", flat=True)) == ["identite"]
    demande.refresh_from_db()
    assert demande.current_step == 1


def test_a_refused_file_shown_on_condition_of_the_same_step_says_only_why(client, commune):
    demande = start(client, ProcedureFactory(commune=commune, definition=FILES))
    response = client.post(
        step_url(demande, 1),
        {
            "identite": file_upload("identite.png", png(), "image/png"),
            "domicile": file_upload("facture.png", png(), "image/png"),
            "tiers": "oui",
            "attestation": file_upload("attestation.pdf", b""),
        },
    )
    assert response.status_code == 200
    error = error_of(response, "id_attestation")
    assert "vide" in error
    assert "obligatoire" not in error


def test_any_reason_the_upload_check_gives_reaches_the_field(client, commune, monkeypatch):
    """Whatever refusal parvis.uploads adds later (an image too large in pixels, a PDF with
    JavaScript…), its message is what the field says."""
    reason = "« plan.pdf » contient du JavaScript : ce PDF n'est pas accepté."

    real_check = demarches_forms.check_upload

    def check(uploaded):
        if uploaded.name == "plan.pdf":
            raise ValidationError(reason, code="javascript")
        return real_check(uploaded)

    monkeypatch.setattr(demarches_forms, "check_upload", check)
    demande = start(client, ProcedureFactory(commune=commune, definition=FILES))
    response = client.post(
        step_url(demande, 1),
        {
            "commentaire": "Mes pièces",
            "identite": file_upload("identite.png", png(), "image/png"),
            "domicile": file_upload("plan.pdf", b"%PDF-1.4\n"),
            "tiers": "non",
        },
    )
    assert response.status_code == 200
    error = error_of(response, "id_domicile")
    assert reason in error
    assert "obligatoire" not in error
    assert f"Justificatif de domicile : {reason}" in text_of(response)  # in the list above too
    assert value_of(response, "commentaire") == "Mes pièces"
    assert list(DemandeAttachment.objects.values_list("original_name", flat=True)) == [
        "identite.png"
    ]
