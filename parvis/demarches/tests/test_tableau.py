"""« Tableau de bord de mes demandes »: an account's requests (drafts included), the filter by
state, a request's page (answers, files, history, messages) and the requester's answers to the
service. Another account's or another commune's request is a 404, like one that does not exist."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from parvis.demarches import services
from parvis.demarches.models import DemandeAttachment, DemandeEvent, DemandeMessage, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import (
    PDF_BYTES,
    agent_of,
    file_request,
    log_in,
    pdf_upload,
    png_upload,
    text_of,
)
from parvis.families.tests.factories import AgentFactory, CitizenFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"objet": "Copie pour mon dossier", "livraison": "mairie"}


def tableau(commune, query=""):
    return reverse("demarches:tableau_de_bord", kwargs={"commune": commune.slug}) + query


def page(demande, commune=None):
    return reverse(
        "demarches:ma_demande",
        kwargs={"commune": (commune or demande.commune).slug, "number": demande.number},
    )


def download(attachment, commune=None, number=None):
    return reverse(
        "demarches:piece_jointe",
        kwargs={
            "commune": (commune or attachment.demande.commune).slug,
            "number": number or attachment.demande.number,
            "pk": attachment.pk,
        },
    )


@pytest.fixture
def citizen():
    return FamilyAccessFactory().user


@pytest.fixture
def procedure(citizen):
    return ProcedureFactory(commune=citizen.commune, title="Demande d'acte de naissance")


@pytest.fixture
def own(procedure, citizen):
    """The citizen's request, with a PDF joined to its answers."""
    demande, _code = file_request(
        procedure, user=citizen, answers=ANSWERS, files={"piece": pdf_upload()}
    )
    return demande


# --- The dashboard --------------------------------------------------------------------------------


def test_the_dashboard_lists_only_the_accounts_requests_drafts_included(client, citizen, own):
    commune = citizen.commune
    draft = services.start_draft(
        procedure=ProcedureFactory(commune=commune, title="Recensement citoyen"), user=citizen
    )
    neighbour = CitizenFactory(commune=commune)
    theirs, _code = file_request(
        ProcedureFactory(commune=commune, title="Livret de famille"), user=neighbour
    )
    anonymous, _code = file_request(ProcedureFactory(commune=commune, title="Certificat de vie"))
    elsewhere = FamilyAccessFactory().user
    other_commune, _code = file_request(
        ProcedureFactory(commune=elsewhere.commune, title="Autorisation parentale"),
        user=elsewhere,
    )
    log_in(client, citizen)

    response = client.get(tableau(commune))

    assert response.status_code == 200
    text = text_of(response)
    assert "2 demandes" in text
    assert "Demande d'acte de naissance" in text and own.number in text
    assert "État : En attente d'instruction" in text
    assert "Recensement citoyen" in text and "État : Brouillon — à terminer" in text
    for title in ("Livret de famille", "Certificat de vie", "Autorisation parentale"):
        assert title not in text
    assert page(own) in response.text
    assert theirs.number not in text and anonymous.number not in text
    assert other_commune.procedure.title not in text
    try:
        continue_url = reverse(
            "demarches:etape",
            kwargs={
                "commune": commune.slug,
                "slug": draft.procedure.slug,
                "pk": draft.pk,
                "step": draft.current_step,
            },
        )
    except NoReverseMatch:
        assert "Terminer cette démarche" not in text  # no link to a wizard that does not exist
    else:
        assert continue_url in response.text and "Terminer cette démarche" in text


def test_the_dashboard_filters_by_state(client, citizen, own, procedure):
    accepted, _code = file_request(procedure, user=citizen, answers=ANSWERS)
    services.transition(demande=accepted, to=Status.ACCEPTEE, actor=agent_of(citizen.commune))
    log_in(client, citizen)

    response = client.get(tableau(citizen.commune, "?etat=acceptee"))
    text = text_of(response)
    assert "1 demande dans l'état « Acceptée »" in text
    assert accepted.number in text and own.number not in text

    response = client.get(tableau(citizen.commune, "?etat=refusee"))
    assert "Aucune de vos demandes n'est dans l'état « Refusée »." in text_of(response)

    # An unknown state is said, and everything is listed.
    response = client.get(tableau(citizen.commune, "?etat=inconnu"))
    text = text_of(response)
    assert "Le formulaire n'a pas pu être envoyé" in text
    assert accepted.number in text and own.number in text


def test_the_dashboard_reads_in_a_constant_number_of_queries(client, citizen, procedure):
    log_in(client, citizen)
    file_request(procedure, user=citizen, answers=ANSWERS)
    with CaptureQueriesContext(connection) as one:
        assert client.get(tableau(citizen.commune)).status_code == 200
    for _ in range(4):
        file_request(procedure, user=citizen, answers=ANSWERS)
    services.start_draft(procedure=procedure, user=citizen)
    with CaptureQueriesContext(connection) as six:
        response = client.get(tableau(citizen.commune))
    assert "6 demandes" in text_of(response)
    assert len(six) == len(one), [q["sql"] for q in six.captured_queries]


def test_the_mon_accueil_page_shows_the_tile_of_the_dashboard(client, citizen):
    log_in(client, citizen)
    response = client.get(reverse("accounts:accueil", kwargs={"commune": citizen.commune.slug}))
    assert "Mes demandes" in text_of(response)
    assert f'href="{tableau(citizen.commune)}"' in response.text


def test_visitors_and_agents_are_sent_to_the_login(client, citizen, own):
    commune = citizen.commune
    login = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    attachment = own.attachments.get()
    for url in (tableau(commune), page(own), download(attachment)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    client.force_login(AgentFactory(commune=commune))
    for url in (tableau(commune), page(own), download(attachment)):
        assert client.get(url)["Location"].startswith(login), url


# --- A request's page -----------------------------------------------------------------------------


def test_the_page_shows_the_answers_files_history_and_messages(client, citizen, own):
    agent = agent_of(citizen.commune)
    services.take(demande=own, agent=agent)
    services.ask_complement(
        demande=own, agent=agent, message="Merci de joindre un justificatif de domicile."
    )
    log_in(client, citizen)

    response = client.get(page(own))

    assert response.status_code == 200
    text = text_of(response)
    assert f"Demande {own.number}" in text
    assert "État Complément demandé" in text
    assert "Le service attend un complément de votre part." in text
    assert "Objet Copie pour mon dossier" in text and "Livraison Retrait en mairie" in text
    assert "Pièce d'identité attestation.pdf" in text  # display_answers names the file
    assert download(own.attachments.get()) in response.text
    for state in ("Demande déposée : En attente d'instruction", "En cours d'instruction"):
        assert state in text
    # In the notice, the history and the messages.
    assert text.count("Merci de joindre un justificatif de domicile.") == 3
    assert own.procedure.service.name in text
    assert agent.last_name not in text  # the service answers, not the agent by name
    assert "Répondre à la demande de complément" in text


def test_another_accounts_or_communes_request_is_not_found(client, citizen, procedure):
    commune = citizen.commune
    neighbour = CitizenFactory(commune=commune)
    theirs, _code = file_request(procedure, user=neighbour, files={"piece": png_upload()})
    elsewhere = FamilyAccessFactory().user
    far, _code = file_request(
        ProcedureFactory(commune=elsewhere.commune), user=elsewhere, files={"piece": png_upload()}
    )
    log_in(client, citizen)
    for url in (
        page(theirs),
        download(theirs.attachments.get()),
        page(far),  # another commune's, under its address: the account is not of that commune
        page(far, commune),  # another commune's number, under this commune's address
        download(far.attachments.get(), commune),
        page(theirs).replace(theirs.number, "DEM-1999-000001"),
    ):
        response = client.get(url)
        if url.startswith(f"/{commune.slug}/"):
            assert response.status_code == 404, url
        else:
            assert response.status_code == 302, url
        assert client.post(url, {"message": "Intrus"}).status_code in {302, 404, 405}
    assert not DemandeMessage.objects.exists()


def test_the_requester_downloads_a_file_never_shown_inline(client, citizen, own):
    attachment = own.attachments.get()
    log_in(client, citizen)

    response = client.get(download(attachment))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="attestation.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-cache" in response["Cache-Control"] or "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF_BYTES
    # Another request's number with this file's id: not found.
    other, _code = file_request(own.procedure, user=citizen, answers=ANSWERS)
    assert client.get(download(attachment, number=other.number)).status_code == 404


def test_answering_a_complement_with_a_file_puts_the_request_back_in_instruction(
    client, citizen, own, django_capture_on_commit_callbacks
):
    services.ask_complement(
        demande=own, agent=agent_of(citizen.commune), message="Il manque le justificatif."
    )
    log_in(client, citizen)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            page(own),
            {"message": "Voici le justificatif demandé.", "fichier": png_upload("domicile.png")},
        )

    assert response.status_code == 302 and response["Location"] == page(own)
    own.refresh_from_db()
    assert own.status == Status.EN_COURS
    message = own.messages.get(from_requester=True)
    assert message.body == "Voici le justificatif demandé." and message.author == citizen
    attachment = message.attachments.get()
    assert (attachment.original_name, attachment.content_type) == ("domicile.png", "image/png")
    event = own.events.last()
    assert (event.from_status, event.to_status, event.actor) == (
        Status.COMPLEMENT,
        Status.EN_COURS,
        citizen,
    )
    assert mail.outbox == []  # the requester's own answer e-mails nobody
    page_text = text_of(client.get(page(own)))
    assert "de nouveau en cours d'instruction" in page_text
    assert "État En cours d'instruction" in page_text and "domicile.png" in page_text
    assert "Écrire au service" in page_text  # still open: a plain message form now


def test_a_message_while_open_leaves_the_state_alone(client, citizen, own):
    log_in(client, citizen)
    response = client.post(page(own), {"message": "<script>alert(1)</script> Une question."})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.status == Status.EN_ATTENTE
    assert DemandeEvent.objects.filter(demande=own).count() == 1
    html = client.get(page(own)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Une question." in html


def test_a_refused_file_is_said_next_to_the_field_and_nothing_is_sent(client, citizen, own):
    services.ask_complement(demande=own, agent=agent_of(citizen.commune), message="Le RIB.")
    log_in(client, citizen)
    fake = SimpleUploadedFile("rib.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(page(own), {"message": "Mon RIB", "fichier": fake})

    assert response.status_code == 200
    text = text_of(response)
    assert "n'est ni un PDF, ni une image JPEG ou PNG" in text
    assert 'aria-invalid="true"' in response.text
    assert "Mon RIB" in response.text  # the entry stays
    own.refresh_from_db()
    assert own.status == Status.COMPLEMENT
    assert not own.messages.filter(from_requester=True).exists()
    assert DemandeAttachment.objects.filter(demande=own).count() == 1  # the answers' PDF only


def test_a_closed_request_takes_no_more_messages(client, citizen, own):
    services.transition(
        demande=own, to=Status.REFUSEE, actor=agent_of(citizen.commune), comment="Hors délai."
    )
    log_in(client, citizen)
    response = client.get(page(own))
    text = text_of(response)
    assert "Cette demande est close" in text and "Envoyer le message" not in text
    assert "Hors délai." in text
    response = client.post(page(own), {"message": "Pourquoi ?"}, follow=True)
    assert "vous ne pouvez plus y écrire" in text_of(response)
    assert not own.messages.exists()


def test_the_page_reads_in_a_constant_number_of_queries(client, citizen, own):
    agent = agent_of(citizen.commune)
    log_in(client, citizen)
    with CaptureQueriesContext(connection) as before:
        client.get(page(own))
    services.ask_complement(demande=own, agent=agent, message="Une pièce.")
    services.post_message(
        demande=own, body="La voici", author=citizen, from_requester=True, files=[png_upload()]
    )
    services.post_message(
        demande=own, body="Et une autre", author=citizen, from_requester=True, files=[png_upload()]
    )
    with CaptureQueriesContext(connection) as after:
        response = client.get(page(own))
    assert "Et une autre" in text_of(response)
    assert len(after) == len(before), [q["sql"] for q in after.captured_queries]
