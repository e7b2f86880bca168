"""The wizard of a procedure (seed 000: « Durée approximative de cette démarche », « 1 - MA
DEMANDE », « ANNULER LA DÉMARCHE », « ALLER À L'ÉTAPE 2 »), its summary, « Valider » and the
confirmation: validation with French messages, going back, conditional fields, pre-filling,
household members, uploads, who may reach a draft, numbering, tracking code, rate limit, honeypot,
CSRF and escaping. Each test fails without the behaviour it names."""

import re
import struct
import zlib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import services
from parvis.demarches.links import step_url
from parvis.demarches.models import Audience, Demande, DemandeAttachment, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)
from parvis.testing.files import pdf_bytes
from parvis.uploads import MAX_UPLOAD_SIZE

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
PDF = pdf_bytes()
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
CONTACT = {"contact_name": "Jean Martin", "contact_email": "Jean.Martin@example.fr"}


def png() -> bytes:
    """A real 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# Every type of field, over three steps (the summary is the fourth).
ALL_TYPES = {
    "steps": [
        {
            "title": "Ma demande",
            "intro": "Quelques questions sur vous.",
            "fields": [
                {"name": "nom", "label": "Nom", "type": "text", "min_length": 2, "max_length": 50},
                {"name": "message", "label": "Message", "type": "textarea", "required": False},
                {"name": "enfants", "label": "Nombre d'enfants", "type": "number", "max": 10},
                {
                    "name": "naissance",
                    "label": "Date de naissance",
                    "type": "date",
                    "min_date": "1900-01-01",
                    "max_date": "today",
                },
                {"name": "courriel", "label": "Courriel", "type": "email"},
                {"name": "telephone", "label": "Téléphone", "type": "phone"},
            ],
        },
        {
            "title": "Précisions",
            "fields": [
                {
                    "name": "type_acte",
                    "label": "Type de copie",
                    "type": "choice",
                    "choices": [["integrale", "Copie intégrale"], ["extrait", "Extrait"]],
                },
                {
                    "name": "options",
                    "label": "Options",
                    "type": "multiple",
                    "required": True,
                    "choices": [["urgent", "Urgent"], ["traduction", "Traduction"]],
                },
                {"name": "envoi", "label": "Envoi par courrier", "type": "yesno", "required": True},
                {
                    "name": "adresse",
                    "label": "Adresse d'envoi",
                    "type": "address",
                    "show_if": {"field": "envoi", "equals": "oui"},
                },
                {
                    "name": "code",
                    "label": "Code postal de naissance",
                    "type": "text",
                    "pattern": "^[0-9]{5}$",
                    "pattern_message": "Indiquez les 5 chiffres du code postal.",
                },
            ],
        },
        {
            "title": "Pièces",
            "fields": [
                {"name": "commentaire", "label": "Commentaire", "type": "text", "max_length": 20},
                {"name": "piece", "label": "Pièce d'identité", "type": "file", "required": True},
            ],
        },
    ],
    "documents": ["Une pièce d'identité"],
    "confirmation": "Réponse sous 10 jours ouvrés.",
}
STEP1 = {
    "nom": "Durand",
    "message": "Bonjour,\nmerci.",
    "enfants": "2",
    "naissance": "1990-05-12",
    "courriel": "francoise@example.fr",
    "telephone": "0612345678",
}
STEP2 = {
    "type_acte": "integrale",
    "options": ["urgent", "traduction"],
    "envoi": "oui",
    "adresse__street": "3, rue des Écoles",
    "adresse__postal_code": "78955",
    "adresse__city": "Carrières-sous-Poissy",
    "code": "78955",
}

# A field shown according to an answer of an earlier step.
EARLIER = {
    "steps": [
        {
            "title": "Réception",
            "fields": [
                {
                    "name": "mode",
                    "label": "Mode de réception",
                    "type": "choice",
                    "choices": [["courrier", "Courrier"], ["mairie", "Mairie"]],
                }
            ],
        },
        {
            "title": "Adresse",
            "fields": [
                {
                    "name": "adresse",
                    "label": "Adresse d'envoi",
                    "type": "address",
                    "show_if": {"field": "mode", "equals": "courrier"},
                },
                {"name": "precision", "label": "Précision", "type": "text", "required": False},
            ],
        },
    ]
}


# --- Helpers -------------------------------------------------------------------------------------


def page_url(procedure) -> str:
    return reverse(
        "demarches:demarche", kwargs={"commune": procedure.commune.slug, "slug": procedure.slug}
    )


def start(client, procedure) -> Demande:
    response = client.post(page_url(procedure))
    assert response.status_code == 302, response
    pk = int(re.search(r"/(\d+)/etape-1/$", response["Location"]).group(1))
    return Demande.objects.select_related("procedure", "commune").get(pk=pk)


def send(client, demande, step, data=None, action="suivant"):
    return client.post(step_url(demande, step), {**(data or {}), "action": action})


def summary_url(demande) -> str:
    return step_url(demande, len(demande.procedure.definition["steps"]) + 1)


def valider(client, demande, data=None):
    return client.post(summary_url(demande), {**(data or {}), "action": "valider"})


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def error_of(response, field_id: str) -> str:
    """The text of the error shown next to the field whose id is `field_id`."""
    match = re.search(
        rf'<div class="form__errors" id="{re.escape(field_id)}_error">(.*?)</div>',
        response.content.decode(),
        flags=re.S,
    )
    assert match, f"no error next to {field_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).replace("&#x27;", "'")


def value_of(response, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', response.content.decode())
    assert match, f"no field {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def checked(response, name: str) -> list[str]:
    tags = re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', response.content.decode())
    return [re.search(r'value="([^"]*)"', t).group(1) for t in tags if " checked" in t]


def file_upload(name: str, content: bytes, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def filed(client, procedure, answers=None, contact=CONTACT):
    """A procedure of the simple definition filed through the pages; the request and response."""
    demande = start(client, procedure)
    send(client, demande, 1, answers or {"objet": "Copie", "livraison": "mairie"})
    send(client, demande, 2)
    response = valider(client, demande, contact)
    if Demande.objects.filter(pk=demande.pk).exists():
        demande.refresh_from_db()
    return demande, response


@pytest.fixture
def commune():
    return CommuneFactory()


@pytest.fixture
def simple(commune):
    return ProcedureFactory(commune=commune, title="Demande d'acte de naissance")


@pytest.fixture
def all_types(commune):
    return ProcedureFactory(commune=commune, definition=ALL_TYPES, duration_minutes=3)


# --- A step --------------------------------------------------------------------------------------


def test_a_step_shows_the_seeds_wizard_words(client, all_types):
    demande = start(client, all_types)
    response = client.get(step_url(demande, 1))
    text = text_of(response)
    assert "Durée approximative de cette démarche : 3 mn" in text
    assert re.search(r'aria-current="step">\s*1 - Ma demande', response.content.decode())
    assert "2 - Précisions" in text and "4 - Récapitulatif" in text
    assert "Quelques questions sur vous." in text
    assert "Aller à l'étape 2" in text
    assert "Annuler la démarche" in text
    assert "Retour à l'étape précédente" not in text  # nothing before the first step
    assert 'enctype="multipart/form-data"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_step_sent_wrong_shows_french_errors_next_to_the_fields_and_keeps_the_entries(
    client, all_types
):
    demande = start(client, all_types)
    response = send(
        client,
        demande,
        1,
        {
            "nom": "D",
            "message": "Un mot",
            "enfants": "11",
            "naissance": "2999-01-01",
            "courriel": "pas-un-courriel",
            "telephone": "12",
        },
    )
    assert response.status_code == 200
    assert "Le formulaire n'a pas pu être envoyé" in text_of(response)
    assert "au moins 2 caractères" in error_of(response, "id_nom")
    assert "inférieure ou égale à 10" in error_of(response, "id_enfants")
    assert "La date doit être le" in error_of(response, "id_naissance")
    assert "ou avant" in error_of(response, "id_naissance")
    assert "adresse de courriel valide" in error_of(response, "id_courriel")
    assert "numéro de téléphone français" in error_of(response, "id_telephone")
    assert value_of(response, "nom") == "D"
    assert value_of(response, "courriel") == "pas-un-courriel"
    assert "Un mot</textarea>" in response.content.decode()
    demande.refresh_from_db()
    assert (demande.answers, demande.current_step) == ({}, 1)

    # Sent empty: « Ce champ est obligatoire. » for the required fields only.
    response = send(client, demande, 1, {})
    assert error_of(response, "id_nom").strip() == "Erreur : Ce champ est obligatoire."
    assert 'id="id_message_error"' not in response.content.decode()

    response = send(client, demande, 1, STEP1)
    assert response["Location"] == step_url(demande, 2)
    demande.refresh_from_db()
    assert demande.answers["enfants"] == 2
    assert demande.answers["naissance"] == "1990-05-12"
    assert demande.answers["telephone"] == "06 12 34 56 78"


def test_the_second_step_checks_choices_patterns_and_the_conditional_address(client, all_types):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    response = send(client, demande, 2, {"type_acte": "autre", "envoi": "oui", "code": "7895"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in error_of(response, "id_type_acte")
    assert "Ce champ est obligatoire." in error_of(response, "id_options")
    assert error_of(response, "id_code").endswith("Indiquez les 5 chiffres du code postal. ")
    # Asked on the same step as « Envoi par courrier » = Oui: required then.
    assert "Ce champ est obligatoire." in error_of(response, "id_adresse__street")
    assert "(Si vous avez répondu « Oui » à « Envoi par courrier ».)" in text_of(response)
    # Required when shown: not marked « (facultatif) », unlike a field that may stay empty.
    html = client.get(step_url(demande, 2)).content.decode()
    for part in ("street", "postal_code", "city"):
        label = re.search(rf'<label for="id_adresse__{part}">(.*?)</label>', html, re.S)
        assert "facultatif" not in label.group(1)
    html = client.get(step_url(demande, 1)).content.decode()
    assert re.search(r'<label for="id_message">Message <span class="form__optional">', html)
    assert checked(response, "envoi") == ["oui"]

    # « Non »: the address is not required, and not kept.
    no_post = {**STEP2, "envoi": "non", "adresse__street": "", "adresse__city": ""}
    assert send(client, demande, 2, no_post)["Location"] == step_url(demande, 3)
    demande.refresh_from_db()
    assert demande.answers["adresse"] is None
    assert demande.answers["options"] == ["urgent", "traduction"]

    assert send(client, demande, 2, STEP2)["Location"] == step_url(demande, 3)
    demande.refresh_from_db()
    assert demande.answers["adresse"] == {
        "street": "3, rue des Écoles",
        "postal_code": "78955",
        "city": "Carrières-sous-Poissy",
    }


def test_every_type_of_field_reaches_the_summary_as_readable_text(client, all_types):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    response = client.post(
        step_url(demande, 3),
        {"commentaire": "RAS", "piece": file_upload("identite.pdf", PDF), "action": "suivant"},
    )
    assert response["Location"] == summary_url(demande)
    text = text_of(client.get(summary_url(demande)))
    for expected in [
        "4 - Récapitulatif",
        "Nom Durand",
        "Message Bonjour, merci.",
        "Nombre d'enfants 2",
        "Date de naissance 12/05/1990",
        "Téléphone 06 12 34 56 78",
        "Type de copie Copie intégrale",
        "Options Urgent, Traduction",
        "Envoi par courrier Oui",
        "Adresse d'envoi 3, rue des Écoles, 78955 Carrières-sous-Poissy",
        "Pièce d'identité identite.pdf",
        "Vos coordonnées",
        "Valider",
    ]:
        assert expected in text, expected
    # The e-mail given in the steps is offered as the contact address.
    assert value_of(client.get(summary_url(demande)), "contact_email") == "francoise@example.fr"


def test_going_back_keeps_the_answers(client, simple):
    demande = start(client, simple)
    send(client, demande, 1, {"objet": "Copie intégrale", "livraison": "mairie"})
    response = send(client, demande, 2, {}, action="precedent")
    assert response["Location"] == step_url(demande, 1)
    response = client.get(step_url(demande, 1))
    assert value_of(response, "objet") == "Copie intégrale"
    assert checked(response, "livraison") == ["mairie"]
    # The summary's « Retour » goes to the last step; its « Modifier » links to each step.
    send(client, demande, 2)
    summary = client.get(summary_url(demande))
    assert f'href="{step_url(demande, 1)}">Modifier' in summary.content.decode()
    assert "Modifier l'étape 2 : Pièces" in text_of(summary)
    response = client.post(summary_url(demande), {"action": "precedent"})
    assert response["Location"] == step_url(demande, 2)


def test_going_back_from_a_step_with_errors_keeps_its_valid_answers(client, all_types):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    response = send(client, demande, 2, {"code": "78955", "envoi": "non"}, action="precedent")
    assert response["Location"] == step_url(demande, 1)
    demande.refresh_from_db()
    assert demande.answers["code"] == "78955"
    assert "options" not in demande.answers
    assert demande.current_step == 2  # the step is not done
    assert value_of(client.get(step_url(demande, 2)), "code") == "78955"
    assert client.get(summary_url(demande))["Location"] == step_url(demande, 2)


def test_a_step_cannot_be_skipped(client, all_types):
    demande = start(client, all_types)
    assert client.get(step_url(demande, 3))["Location"] == step_url(demande, 1)
    assert client.get(summary_url(demande))["Location"] == step_url(demande, 1)
    send(client, demande, 1, STEP1)
    assert client.get(step_url(demande, 3))["Location"] == step_url(demande, 2)
    assert client.get(step_url(demande, 0)).status_code == 404


def test_a_field_shown_according_to_an_earlier_step_is_asked_and_required_only_then(
    client, commune
):
    procedure = ProcedureFactory(commune=commune, definition=EARLIER)
    demande = start(client, procedure)
    send(client, demande, 1, {"mode": "mairie"})
    response = client.get(step_url(demande, 2))
    assert 'name="adresse__street"' not in response.content.decode()
    assert send(client, demande, 2, {})["Location"] == summary_url(demande)
    assert client.get(summary_url(demande)).status_code == 200

    # Changed to « Courrier »: the summary sends back to the step that now asks the address.
    send(client, demande, 1, {"mode": "courrier"})
    response = client.get(summary_url(demande), follow=True)
    assert response.redirect_chain[-1][0] == step_url(demande, 2)
    assert "Cette étape est à compléter" in text_of(response)
    assert 'name="adresse__street"' in response.content.decode()
    response = send(client, demande, 2, {})
    assert "obligatoire" in error_of(response, "id_adresse__street")
    address = {
        "adresse__street": "1, rue Neuve",
        "adresse__postal_code": "78955",
        "adresse__city": "Carrières",
    }
    assert send(client, demande, 2, address)["Location"] == summary_url(demande)

    # Back to « Mairie »: the address given before is no longer kept.
    send(client, demande, 1, {"mode": "mairie"})
    send(client, demande, 2, {})
    demande.refresh_from_db()
    assert demande.answers["adresse"] is None
    assert "1, rue Neuve" not in text_of(client.get(summary_url(demande)))


def test_an_account_holder_finds_the_fields_pre_filled(client, commune):
    procedure = ProcedureFactory(
        commune=commune,
        definition={
            "steps": [
                {
                    "title": "Vous",
                    "fields": [
                        {
                            "name": "nom",
                            "label": "Votre nom",
                            "type": "text",
                            "prefill": "user.last_name",
                        },
                        {
                            "name": "mel",
                            "label": "Votre courriel",
                            "type": "email",
                            "prefill": "user.email",
                        },
                        {
                            "name": "adresse",
                            "label": "Adresse",
                            "type": "address",
                            "prefill": "user.address",
                        },
                    ],
                }
            ]
        },
    )
    citizen = CitizenFactory(
        commune=commune,
        last_name="Durand",
        email="francoise.durand@example.fr",
        address="12, rue du Parc",
        postal_code="78955",
        city="Carrières-sous-Poissy",
    )
    anonymous = Client()
    response = anonymous.get(step_url(start(anonymous, procedure), 1))
    assert value_of(response, "nom") == ""

    client.force_login(citizen)
    demande = start(client, procedure)
    response = client.get(step_url(demande, 1))
    assert value_of(response, "nom") == "Durand"
    assert value_of(response, "mel") == "francoise.durand@example.fr"
    assert value_of(response, "adresse__street") == "12, rue du Parc"
    assert value_of(response, "adresse__postal_code") == "78955"
    # An answer given wins over the account's value.
    address = {
        "adresse__street": "1, rue Neuve",
        "adresse__postal_code": "78955",
        "adresse__city": "Carrières",
    }
    send(client, demande, 1, {"nom": "Durand-Petit", "mel": "f@example.fr", **address})
    assert value_of(client.get(step_url(demande, 1)), "nom") == "Durand-Petit"


def test_a_member_field_lists_only_the_households_members(client, commune):
    procedure = ProcedureFactory(
        commune=commune,
        audience=Audience.FAMILY,
        definition={
            "steps": [
                {
                    "title": "Enfant",
                    "fields": [
                        {
                            "name": "enfant",
                            "label": "Enfant concerné",
                            "type": "member",
                            "member_kind": "enfant",
                        },
                        {"name": "parent", "label": "Parent", "type": "member"},
                    ],
                }
            ]
        },
    )
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa")
    hugo = ChildFactory(famille=famille, first_names="Hugo")
    mother = PersonneFactory(famille=famille, first_names="Françoise")
    stranger = ChildFactory(
        famille=FamilleFactory(commune=commune, name="AUTRE"), first_names="Zoé"
    )
    citizen = FamilyAccessFactory(famille=famille).user
    client.force_login(citizen)
    demande = start(client, procedure)
    response = client.get(step_url(demande, 1))
    html = response.content.decode()
    child_select = re.search(r'<select name="enfant".*?</select>', html, re.S).group(0)
    assert "Léa DURAND" in child_select and "Hugo DURAND" in child_select
    assert "Françoise" not in child_select  # member_kind « enfant »
    assert "Zoé" not in html  # another household
    parent_select = re.search(r'<select name="parent".*?</select>', html, re.S).group(0)
    assert "Françoise DURAND" in parent_select and "Léa DURAND" in parent_select

    response = send(client, demande, 1, {"enfant": stranger.pk, "parent": mother.pk})
    assert "Sélectionnez un choix valide" in error_of(response, "id_enfant")
    response = send(client, demande, 1, {"enfant": lea.pk, "parent": mother.pk})
    assert response["Location"] == summary_url(demande)
    demande.refresh_from_db()
    assert demande.answers["enfant"] == {"id": lea.pk, "label": "Léa DURAND"}
    assert "Enfant concerné Léa DURAND" in text_of(client.get(summary_url(demande)))
    assert hugo.pk  # listed, not chosen


# --- Uploads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("identite.pdf", PDF, "application/pdf"), ("photo.png", png(), "image/png")],
)
def test_a_pdf_or_png_is_accepted(client, all_types, name, content, content_type):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    response = client.post(
        step_url(demande, 3),
        {"commentaire": "RAS", "piece": file_upload(name, content, "application/octet-stream")},
    )
    assert response["Location"] == summary_url(demande)
    attachment = DemandeAttachment.objects.get(demande=demande)
    assert (attachment.field_name, attachment.original_name) == ("piece", name)
    assert attachment.content_type == content_type  # from the content, not the browser's word
    assert attachment.file.read() == content
    assert name not in attachment.file.name  # stored under a name of ours
    # Coming back to the step: the file is already there, and need not be sent again.
    response = client.get(step_url(demande, 3))
    assert f"Fichier déjà joint : {name}." in text_of(response)
    assert send(client, demande, 3, {"commentaire": "RAS"})["Location"] == summary_url(demande)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("faux.pdf", b"Ceci est un texte, pas un PDF.\n" * 4, "n'est ni un PDF, ni une image"),
        ("gros.pdf", pdf_bytes(size=MAX_UPLOAD_SIZE + 1), "10 Mo au plus"),
        ("IMG_0001.pdf", HEIC, "est une photo HEIC (iPhone)"),
    ],
    ids=["text-named-pdf", "10-mb-and-1-byte", "heic"],
)
def test_a_refused_file_says_why_next_to_the_field_and_keeps_the_other_answers(
    client, all_types, name, content, reason
):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    upload = file_upload(name, content)
    if name == "gros.pdf":
        assert upload.size == MAX_UPLOAD_SIZE + 1
    response = client.post(step_url(demande, 3), {"commentaire": "Voici ma pièce", "piece": upload})
    assert response.status_code == 200
    error = error_of(response, "id_piece")
    assert reason in error
    assert name in error
    assert value_of(response, "commentaire") == "Voici ma pièce"
    assert not DemandeAttachment.objects.exists()
    demande.refresh_from_db()
    assert demande.current_step == 3


def test_a_good_file_is_kept_when_another_field_of_the_step_is_wrong(client, all_types):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    response = client.post(
        step_url(demande, 3),
        {"commentaire": "x" * 21, "piece": file_upload("identite.pdf", PDF)},
    )
    assert response.status_code == 200
    assert "au plus 20 caractères" in error_of(response, "id_commentaire")
    assert 'id="id_piece_error"' not in response.content.decode()
    assert "Fichier déjà joint : identite.pdf." in text_of(response)
    assert send(client, demande, 3, {"commentaire": "RAS"})["Location"] == summary_url(demande)
    assert DemandeAttachment.objects.get().original_name == "identite.pdf"


# --- Who reaches a draft -------------------------------------------------------------------------


def test_someone_elses_draft_is_not_found(client, simple):
    demande = start(client, simple)
    urls = [step_url(demande, 1), summary_url(demande)]
    other_browser = Client()
    other_browser.post(page_url(simple))  # a draft of its own, with its own key
    for url in urls:
        assert other_browser.get(url).status_code == 404
    assert other_browser.post(urls[0], {"objet": "x", "livraison": "mairie"}).status_code == 404
    assert other_browser.post(urls[0], {"action": "annuler"}).status_code == 404
    citizen = CitizenFactory(commune=simple.commune)
    other_browser.force_login(citizen)
    assert other_browser.get(urls[0]).status_code == 404
    # An account's draft, for another account or an anonymous visitor.
    mine = start(other_browser, simple)
    assert mine.requester == citizen
    assert client.get(step_url(mine, 1)).status_code == 404
    intruder = Client()
    intruder.force_login(CitizenFactory(commune=simple.commune))
    assert intruder.get(step_url(mine, 1)).status_code == 404
    demande.refresh_from_db()
    assert demande.answers == {}


def test_another_communes_address_or_a_submitted_request_is_not_found(client, simple):
    demande, _response = filed(client, simple)
    assert demande.status == Status.EN_ATTENTE
    assert client.get(step_url(demande, 1)).status_code == 404
    assert client.post(step_url(demande, 1), {"action": "annuler"}).status_code == 404
    draft = start(client, simple)
    twin = ProcedureFactory(slug=simple.slug)  # the same procedure in another commune
    elsewhere = reverse(
        "demarches:etape",
        kwargs={"commune": twin.commune.slug, "slug": twin.slug, "pk": draft.pk, "step": 1},
    )
    assert client.get(elsewhere).status_code == 404


def test_a_procedure_for_account_holders_sends_an_anonymous_visitor_to_the_login(client, commune):
    procedure = ProcedureFactory(commune=commune, audience=Audience.ACCOUNT)
    citizen = CitizenFactory(commune=commune)
    draft = services.start_draft(procedure=procedure, user=citizen)
    response = client.get(step_url(draft, 1))
    login = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    assert response["Location"].startswith(f"{login}?next=")
    client.force_login(citizen)
    assert client.get(step_url(draft, 1)).status_code == 200


def test_cancelling_deletes_the_draft_and_its_files(
    client, all_types, django_capture_on_commit_callbacks
):
    demande = start(client, all_types)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    client.post(step_url(demande, 3), {"commentaire": "RAS", "piece": file_upload("a.pdf", PDF)})
    stored = DemandeAttachment.objects.get()
    storage, name = stored.file.storage, stored.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(summary_url(demande), {"action": "annuler"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "demarches:catalogue", kwargs={"commune": all_types.commune.slug}
    )
    assert f"Votre démarche « {all_types.title} » est annulée." in text_of(response)
    assert not Demande.objects.exists()
    assert not DemandeAttachment.objects.exists()
    assert not storage.exists(name)
    # From a step too.
    demande = start(client, all_types)
    assert send(client, demande, 1, {}, action="annuler").status_code == 302
    assert not Demande.objects.exists()


# --- « Valider » ---------------------------------------------------------------------------------


def test_an_anonymous_request_gets_a_number_and_a_tracking_code_shown_once(
    client, simple, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        demande, response = filed(client, simple)
    confirmation = reverse(
        "demarches:confirmation",
        kwargs={"commune": simple.commune.slug, "slug": simple.slug, "pk": demande.pk},
    )
    assert response["Location"] == confirmation
    assert demande.number == f"DEM-{YEAR}-000001"
    assert demande.status == Status.EN_ATTENTE
    assert (demande.contact_name, demande.contact_email) == (
        "Jean Martin",
        "jean.martin@example.fr",
    )
    page = client.get(confirmation)
    assert "no-store" in page["Cache-Control"]
    text = text_of(page)
    assert "Votre demande est envoyée" in text
    assert f"Elle porte le numéro : {demande.number}" in text
    assert "Réponse sous 5 jours ouvrés." in text  # the procedure's confirmation text
    code = re.search(r'<strong class="demarche-code">([A-Z0-9]+)</strong>', page.text).group(1)
    assert len(code) == services.TRACKING_CODE_LENGTH
    assert demande.tracking_digest == services.tracking_digest(code)
    assert code not in str(Demande.objects.filter(pk=demande.pk).values().get())
    suivi = reverse("demarches:suivi", kwargs={"commune": simple.commune.slug})
    assert f'href="{suivi}"' in page.text
    # Shown once: the next display says where it went instead.
    again = client.get(confirmation)
    assert code not in again.text
    assert demande.number in again.text
    assert "n'est affiché qu'une fois ; il vous a été envoyé par courriel" in text_of(again)
    # The e-mail carries it; another browser sees nothing.
    assert any(code in message.body for message in mail.outbox)
    assert Client().get(confirmation).status_code == 404


def test_the_contact_fields_are_required_without_an_account(client, simple):
    demande = start(client, simple)
    send(client, demande, 1, {"objet": "Copie", "livraison": "mairie"})
    send(client, demande, 2)
    response = valider(client, demande, {"contact_name": "", "contact_email": "jean@"})
    assert response.status_code == 200
    assert "obligatoire" in error_of(response, "id_contact_name")
    assert "adresse de courriel valide" in error_of(response, "id_contact_email")
    demande.refresh_from_db()
    assert demande.status == Status.BROUILLON


def test_an_account_holder_files_without_contact_fields_and_is_led_to_the_dashboard(client, simple):
    citizen = CitizenFactory(commune=simple.commune, email="francoise@example.fr")
    client.force_login(citizen)
    demande = start(client, simple)
    send(client, demande, 1, {"objet": "Copie", "livraison": "mairie"})
    send(client, demande, 2)
    summary = client.get(summary_url(demande))
    assert 'name="contact_email"' not in summary.content.decode()
    assert "les réponses de la mairie vous sont envoyées à francoise@example.fr" in text_of(summary)
    page = client.get(valider(client, demande)["Location"])
    demande.refresh_from_db()
    assert demande.requester == citizen and demande.tracking_digest == ""
    text = text_of(page)
    assert demande.number in text
    assert "code de suivi" not in text
    dashboard = reverse("demarches:tableau_de_bord", kwargs={"commune": simple.commune.slug})
    assert f'href="{dashboard}"' in page.content.decode()


def test_numbers_follow_without_gaps_per_commune(simple):
    numbers = [filed(Client(), simple)[0].number for _ in range(2)]
    assert numbers == [f"DEM-{YEAR}-000001", f"DEM-{YEAR}-000002"]
    elsewhere = ProcedureFactory()
    assert filed(Client(), elsewhere)[0].number == f"DEM-{YEAR}-000001"
    assert filed(Client(), simple)[0].number == f"DEM-{YEAR}-000003"


def test_anonymous_submissions_are_rate_limited_per_address(client, simple):
    for _ in range(services.ANONYMOUS_MAX_PER_HOUR):
        Attempt.objects.create(
            commune=simple.commune,
            kind=Attempt.Kind.DEMANDE,
            ip="127.0.0.1",
            succeeded=True,
            at=timezone.now(),
        )
    demande, response = filed(client, simple)
    assert response.status_code == 429
    assert "Trop de demandes ont été envoyées sans compte" in text_of(response)
    assert value_of(response, "contact_name") == "Jean Martin"
    assert (demande.status, demande.number) == (Status.BROUILLON, "")
    assert not mail.outbox
    # From another address, it goes through.
    response = client.post(
        summary_url(demande), {**CONTACT, "action": "valider"}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 302
    demande.refresh_from_db()
    assert demande.number == f"DEM-{YEAR}-000001"


def test_a_robot_filling_the_honeypot_is_answered_as_if_it_worked(client, simple):
    demande, response = filed(client, simple, contact={**CONTACT, "site_internet": "spam"})
    assert response.status_code == 200
    assert "Votre demande est envoyée" in text_of(response)
    assert "DEM-" not in response.content.decode()
    assert not Demande.objects.exclude(status=Status.BROUILLON).exists()
    assert not Demande.objects.filter(pk=demande.pk).exists()
    assert not mail.outbox


def test_the_honeypot_of_a_step_counts_at_the_end(client, simple):
    demande = start(client, simple)
    send(client, demande, 1, {"objet": "Copie", "livraison": "mairie", "site_internet": "x"})
    send(client, demande, 2)
    response = valider(client, demande, CONTACT)
    assert response.status_code == 200
    assert "Votre demande est envoyée" in text_of(response)
    assert not Demande.objects.exclude(status=Status.BROUILLON).exists()


def test_forms_refuse_a_post_without_the_csrf_token(simple):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(page_url(simple)).status_code == 403
    assert not Demande.objects.exists()
    # With a draft (started with the token), its steps refuse too.
    browser.get(page_url(simple))
    token = browser.cookies["csrftoken"].value
    response = browser.post(page_url(simple), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    demande = Demande.objects.get()
    response = browser.post(step_url(demande, 1), {"objet": "Copie", "livraison": "mairie"})
    assert response.status_code == 403
    demande.refresh_from_db()
    assert demande.answers == {}


def test_a_script_typed_in_a_field_is_kept_as_text_and_shown_escaped(client, simple):
    typed = '<script>alert("x")</script>'
    demande = start(client, simple)
    send(client, demande, 1, {"objet": typed, "livraison": "mairie"})
    send(client, demande, 2)
    demande.refresh_from_db()
    assert demande.answers["objet"] == typed
    summary = client.get(summary_url(demande)).content.decode()
    assert typed not in summary
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in summary


def test_a_second_click_on_valider_leads_to_the_confirmation(client, simple):
    demande, response = filed(client, simple)
    again = valider(client, demande, CONTACT)
    assert again["Location"] == response["Location"]
    demande.refresh_from_db()
    assert demande.number == f"DEM-{YEAR}-000001"
    assert Demande.objects.count() == 1
