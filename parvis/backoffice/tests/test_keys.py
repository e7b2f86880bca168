"""Service keys made at the guichet: shown once, e-mailed, stored as a digest only, redeemable,
revocable."""

import json

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail, serializers

from parvis.accounts.models import AuditEntry
from parvis.backoffice.tests.conftest import text_of
from parvis.families.models import FamilyAccess, ServiceKey
from parvis.families.services import KeyRefused, key_digest, normalise_key, redeem_service_key
from parvis.families.tests.factories import CitizenFactory, PersonneFactory

pytestmark = pytest.mark.django_db

FILE = "/villebois/guichet/familles/1/"
GENERATE = f"{FILE}cles/generer/"


def generate(client, service, send_to="", capture=None):
    data = {"cle-service": service.pk, "cle-send_to": send_to}
    if capture is None:
        return client.post(GENERATE, data)
    with capture(execute=True):
        return client.post(GENERATE, data)


def test_the_form_proposes_the_responsables_email(agent_client, famille, enfance_service):
    PersonneFactory(famille=famille, first_names="Marc", email="")
    PersonneFactory(famille=famille, first_names="Françoise", email="francoise@example.fr")
    form = agent_client.get(FILE).context["key_form"]
    assert form["send_to"].value() == "francoise@example.fr"
    assert form["service"].field.label_from_instance(enfance_service) == "Clé Enfance"


def test_a_generated_key_is_shown_once_and_redeems(
    agent_client, famille, enfance_service, enfance_agent
):
    response = generate(agent_client, enfance_service)

    assert response.status_code == 200  # the key is in this response, not behind a redirect
    assert "no-store" in response["Cache-Control"]
    key = response.context["key"]
    text = text_of(response)
    assert key in text
    assert "Notez-la : elle ne sera plus affichée." in text
    assert "Clé Enfance de la famille DURAND (dossier F000001)" in text
    assert key not in text_of(agent_client.get(FILE))
    assert key not in text_of(agent_client.get(GENERATE))

    service_key = ServiceKey.objects.get()
    assert (service_key.famille, service_key.service, service_key.created_by) == (
        famille,
        enfance_service,
        enfance_agent,
    )
    entry = AuditEntry.objects.get(action="service_key.generate")
    assert entry.famille_id == famille.pk and entry.actor == enfance_agent

    citizen = CitizenFactory(commune=famille.commune)
    redeemed = redeem_service_key(user=citizen, raw_key=key.lower())
    assert redeemed.service == enfance_service
    access = FamilyAccess.objects.get(user=citizen)
    assert (access.famille, access.key) == (famille, service_key)
    page = text_of(agent_client.get(FILE))
    assert citizen.email in page and "Utilisée le" in page


def test_the_key_is_emailed_and_stored_only_as_a_digest(
    agent_client, famille, enfance_service, django_capture_on_commit_callbacks
):
    response = generate(
        agent_client,
        enfance_service,
        send_to="francoise@example.fr",
        capture=django_capture_on_commit_callbacks,
    )
    key = response.context["key"]
    assert "Elle est aussi envoyée par courriel à francoise@example.fr." in text_of(response)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["francoise@example.fr"]
    assert message.subject == "Villebois — votre Clé Enfance"
    assert key in message.body
    assert "Authentification" in message.body and "/villebois/" in message.body

    service_key = ServiceKey.objects.get()
    assert service_key.digest == key_digest(key)
    assert service_key.sent_to == "francoise@example.fr"
    # Nowhere in the database in clear: every row of every table, decoded sessions, cookies.
    bare = normalise_key(key)
    for model in apps.get_models():
        dump = serializers.serialize("json", model._default_manager.all())
        assert key not in dump and bare not in dump, model.__name__
        assert bare.lower() not in json.dumps(json.loads(dump)).lower(), model.__name__
    sessions = json.dumps([s.get_decoded() for s in Session.objects.all()])
    assert key not in sessions and bare not in sessions
    assert key not in str(agent_client.cookies) and bare not in str(agent_client.cookies)


def test_a_key_without_email_is_sent_to_nobody(
    agent_client, famille, enfance_service, django_capture_on_commit_callbacks
):
    response = generate(agent_client, enfance_service, capture=django_capture_on_commit_callbacks)
    assert "remettez-la vous-même à la famille" in text_of(response)
    assert mail.outbox == []
    assert ServiceKey.objects.get().sent_to == ""


def test_a_wrong_email_is_refused_and_no_key_made(agent_client, famille, enfance_service):
    response = generate(agent_client, enfance_service, send_to="pas-une-adresse")
    assert response.status_code == 200
    assert "Saisissez une adresse de courriel valide." in text_of(response)
    assert 'value="pas-une-adresse"' in response.content.decode()
    assert response.context.get("key") is None
    assert not ServiceKey.objects.exists()


def test_a_get_shows_the_form_and_makes_no_key(agent_client, famille, enfance_service):
    response = agent_client.get(GENERATE)
    assert response.status_code == 200
    assert "Générer une clé" in text_of(response)
    assert not ServiceKey.objects.exists()


def test_revoking_a_key(agent_client, famille, enfance_service, enfance_agent):
    key = generate(agent_client, enfance_service).context["key"]
    service_key = ServiceKey.objects.get()

    response = agent_client.post(f"{FILE}cles/{service_key.pk}/revoquer/")

    assert response.status_code == 302
    service_key.refresh_from_db()
    assert service_key.revoked_at is not None
    entry = AuditEntry.objects.get(action="service_key.revoke")
    assert entry.actor == enfance_agent and entry.famille_id == famille.pk
    assert entry.changes["revoked_at"][0] is None
    with pytest.raises(KeyRefused):
        redeem_service_key(user=CitizenFactory(commune=famille.commune), raw_key=key)
    # Revoking again changes nothing.
    agent_client.post(f"{FILE}cles/{service_key.pk}/revoquer/")
    assert AuditEntry.objects.filter(action="service_key.revoke").count() == 1
    assert agent_client.get(f"{FILE}cles/{service_key.pk}/revoquer/").status_code == 405
    assert "Clé de service révoquée" in text_of(agent_client.get(FILE))
