"""The follow-up without an account: a request's number and tracking code open its page for the
session that typed them. A wrong pair gets one generic answer whatever was wrong; the fifth
failure from an address locks the form for 15 minutes."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import services
from parvis.demarches.models import Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import (
    agent_of,
    file_request,
    log_in,
    pdf_upload,
    text_of,
)
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

GENERIC = "Ce numéro et ce code de suivi ne correspondent à aucune demande."
LOCKED = "Trop d'essais, réessayez dans 15 minutes."


def suivi(commune):
    return reverse("demarches:suivi", kwargs={"commune": commune.slug})


def suivi_demande(commune, number):
    return reverse("demarches:suivi_demande", kwargs={"commune": commune.slug, "number": number})


@pytest.fixture
def procedure():
    return ProcedureFactory(title="Demande d'acte de naissance")


@pytest.fixture
def filed(procedure):
    """(request, tracking code) of an anonymous requester."""
    return file_request(procedure, answers={"objet": "Copie pour passeport", "livraison": "mairie"})


def follow(client, commune, number, code):
    return client.post(suivi(commune), {"numero": number, "code": code})


def test_the_right_pair_opens_the_request_for_this_session(client, filed):
    demande, code = filed
    commune = demande.commune
    services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent_of(commune))
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)

    # Typed loosely: lower case, spaces.
    response = follow(client, commune, f" {demande.number.lower()} ", f"{code[:5]} {code[5:]}")

    assert response.status_code == 302
    assert response["Location"] == suivi_demande(commune, demande.number)
    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != new_key  # a new session key once proven
    response = client.get(response["Location"])
    assert response.status_code == 200
    text = text_of(response)
    assert f"Demande {demande.number}" in text and "État Acceptée" in text
    assert "Demande déposée : En attente d'instruction" in text
    assert "Cette demande est close" in text
    assert "Copie pour passeport" not in text  # the answers stay out of the code's reach


@pytest.mark.parametrize(
    "wrong",
    ["number", "code", "both", "account_holders_request", "other_commune"],
)
def test_a_wrong_pair_gets_the_same_generic_answer(client, filed, wrong):
    demande, code = filed
    commune = demande.commune
    number = demande.number
    if wrong in ("number", "both"):
        number = "DEM-2026-999999"
    if wrong in ("code", "both"):
        code = "ABCDEFGHJK"
    if wrong == "account_holders_request":
        citizen = CitizenFactory(commune=commune)
        theirs, _none = file_request(demande.procedure, user=citizen)
        number = theirs.number
        code = "ABCDEFGHJK"
    if wrong == "other_commune":
        commune = CommuneFactory()

    response = follow(client, commune, number, code)

    assert response.status_code == 200
    text = text_of(response)
    assert GENERIC in text
    # Nothing else differs: the summary says only that, whatever was wrong.
    summary = response.text.split('class="form-summary"', 1)[1].split("</div>", 1)[0]
    assert summary.count("<p>") == 1
    assert code not in response.text  # the code typed is not sent back
    assert suivi_demande(demande.commune, demande.number) not in response.text


def test_empty_fields_are_said_next_to_them(client):
    commune = CommuneFactory()
    response = client.post(suivi(commune), {"numero": "", "code": ""})
    assert response.status_code == 200
    assert response.text.count('aria-invalid="true"') == 2
    assert not Attempt.objects.filter(kind=Attempt.Kind.TRACKING).exists()


def test_the_fifth_failure_locks_the_form_for_15_minutes(client, filed):
    demande, code = filed
    commune = demande.commune
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for attempt in range(1, 5):
            assert GENERIC in text_of(follow(client, commune, demande.number, "MAUVAISCOD")), (
                attempt
            )
        fifth = text_of(follow(client, commune, demande.number, "MAUVAISCOD"))
        assert LOCKED in fifth and GENERIC not in fifth
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        # Even the right pair waits: the lock does not tell right from wrong.
        response = follow(client, commune, demande.number, code)
        assert response.status_code == 200 and LOCKED in text_of(response)
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        response = follow(client, commune, demande.number, code)
        assert response.status_code == 302


def test_the_lock_is_per_address(filed):
    demande, code = filed
    commune = demande.commune
    guesser = Client(REMOTE_ADDR="203.0.113.5")
    for _ in range(5):
        follow(guesser, commune, demande.number, "MAUVAISCOD")
    assert LOCKED in text_of(follow(guesser, commune, demande.number, code))
    requester = Client(REMOTE_ADDR="198.51.100.7")
    assert follow(requester, commune, demande.number, code).status_code == 302


def test_ones_own_valid_pair_does_not_reset_the_count_of_failures(client, procedure, filed):
    demande, _code = filed
    mine, my_code = file_request(procedure)
    commune = demande.commune
    for _ in range(4):
        follow(client, commune, demande.number, "MAUVAISCOD")
    assert follow(client, commune, mine.number, my_code).status_code == 302
    # The fifth failure still locks: the success in between did not wipe the first four.
    assert LOCKED in text_of(follow(client, commune, demande.number, "AUTRECODE2"))


def test_another_session_cannot_open_the_request(client, filed):
    demande, code = filed
    commune = demande.commune
    assert follow(client, commune, demande.number, code).status_code == 302
    assert client.get(suivi_demande(commune, demande.number)).status_code == 200

    stranger = Client()
    response = stranger.get(suivi_demande(commune, demande.number))
    assert response.status_code == 302
    assert response["Location"] == f"{suivi(commune)}?numero={demande.number}"
    response = stranger.post(suivi_demande(commune, demande.number), {"message": "Intrus"})
    assert response.status_code == 302
    # The same way back for a number that does not exist: nothing tells them apart.
    response = stranger.get(suivi_demande(commune, "DEM-2026-999999"))
    assert response["Location"] == f"{suivi(commune)}?numero=DEM-2026-999999"
    # Nor is it open under another commune's address, even in the session that proved it.
    other = CommuneFactory()
    assert client.get(suivi_demande(other, demande.number)).status_code == 302
    # An account holder, logged in, gets nothing either.
    log_in(stranger, CitizenFactory(commune=commune))
    assert stranger.get(suivi_demande(commune, demande.number)).status_code == 302
    assert not demande.messages.exists()


def test_the_proof_lasts_an_hour(client, filed):
    demande, code = filed
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        follow(client, demande.commune, demande.number, code)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(suivi_demande(demande.commune, demande.number)).status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert client.get(suivi_demande(demande.commune, demande.number)).status_code == 302


def test_closing_the_follow_up_forgets_the_request(client, filed):
    demande, code = filed
    follow(client, demande.commune, demande.number, code)
    quitter = reverse(
        "demarches:suivi_quitter",
        kwargs={"commune": demande.commune.slug, "number": demande.number},
    )
    response = client.post(quitter, follow=True)
    assert "Le suivi de cette demande est fermé sur cet appareil." in text_of(response)
    assert client.get(suivi_demande(demande.commune, demande.number)).status_code == 302


def test_the_anonymous_requester_answers_a_complement_with_a_file(
    client, filed, django_capture_on_commit_callbacks
):
    demande, code = filed
    services.ask_complement(
        demande=demande, agent=agent_of(demande.commune), message="Joignez votre pièce d'identité."
    )
    follow(client, demande.commune, demande.number, code)
    page = suivi_demande(demande.commune, demande.number)
    text = text_of(client.get(page))
    assert "Le service attend un complément de votre part." in text
    assert "Joignez votre pièce d'identité." in text
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"message": "Voici ma carte.", "fichier": pdf_upload()})

    assert response.status_code == 302 and response["Location"] == page
    demande.refresh_from_db()
    assert demande.status == Status.EN_COURS
    message = demande.messages.get(from_requester=True)
    assert message.author is None and message.author_label == "Camille PETIT"
    assert message.attachments.get().content_type == "application/pdf"
    event = demande.events.last()
    assert (event.from_status, event.to_status) == (Status.COMPLEMENT, Status.EN_COURS)
    assert event.actor is None and event.actor_label == "Camille PETIT"
    assert mail.outbox == []
    text = text_of(client.get(page))
    assert "État En cours d'instruction" in text and "attestation.pdf" in text
    # The file is listed, not served, to a session that only knows the code.
    assert "/pieces/" not in client.get(page).text


def test_the_tracking_page_links_the_dashboard_for_account_holders(client):
    commune = CommuneFactory()
    response = client.get(suivi(commune))
    assert response.status_code == 200
    assert "Numéro de la demande" in text_of(response) and "Code de suivi" in text_of(response)
    assert reverse("demarches:tableau_de_bord", kwargs={"commune": commune.slug}) in response.text


def test_suivre_ma_demande_is_linked_from_the_home_page_and_the_catalogue(client):
    """Someone without an account who lost the e-mail finds the tracking form from the commune's
    home page and from « Effectuer des démarches sans créer de compte »."""
    commune = CommuneFactory()
    link = f'<a href="{suivi(commune)}">Suivre ma demande</a>'
    home = client.get(reverse("portal:home", kwargs={"commune": commune.slug}))
    assert link in home.text
    catalogue = client.get(reverse("demarches:catalogue", kwargs={"commune": commune.slug}))
    assert catalogue.status_code == 200
    assert link in catalogue.text
    assert "Vous avez déjà fait une démarche sans compte ?" in text_of(catalogue)
    # Reached without an account.
    page = client.get(suivi(commune))
    assert page.status_code == 200 and "Suivre une démarche faite sans compte" in text_of(page)
