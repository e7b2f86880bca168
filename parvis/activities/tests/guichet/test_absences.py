"""The children's absences at the guichet: who sees them (the agents of the services whose
activities the child is registered to; another service's agent, another commune's or a child
not registered → not listed, 404), the filters by day and state, pagination and a constant
number of queries, the certificate's link, and « Marquer justifiée » / « Marquer non justifiée »
with a reason (audited, the family told)."""

from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities.models import Absence, BookingStatus, InscriptionStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.services_absences import declare_absence
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory
from parvis.testing.files import pdf_bytes
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 19, 8, 0, tzinfo=PARIS)  # a Thursday
TODAY = date(2026, 11, 19)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def activity(commune):
    return make_activity(commune, slug="peri")


def absent_child(commune, activity, *, name="DURAND", first_day=TODAY, last_day=None, **kwargs):
    famille = FamilleFactory(commune=commune, name=name)
    access = FamilyAccessFactory(famille=famille, user__email=f"{name.lower()}@example.fr")
    child = ChildFactory(famille=famille, first_names="Léa")
    if activity is not None:
        register(child, activity)
        Reservation.objects.create(
            commune=commune, famille=famille, child=child, unit=activity.units.get(),
            day=first_day, status=BookingStatus.RESERVEE,
        )  # fmt: skip
    return declare_absence(
        famille=famille, child=child, first_day=first_day, last_day=last_day or first_day,
        reason=kwargs.pop("reason", "maladie"), comment=kwargs.pop("comment", ""),
        actor=access.user, **kwargs,
    )  # fmt: skip


@pytest.fixture
def absence(commune, activity):
    return absent_child(commune, activity, comment="fièvre")


def certificate():
    return SimpleUploadedFile("c.pdf", pdf_bytes(), content_type="application/pdf")


def url(name, commune, *args):
    return reverse(f"guichet_activites:{name}", args=[commune.slug, *args])


# --- Who sees what -------------------------------------------------------------------------------


def test_the_activities_page_links_to_the_absences(agent_client, commune, activity):
    response = agent_client.get(url("activites", commune))
    assert url("absences", commune) in response.content.decode()
    assert "Absences des enfants" in text_of(response)


def test_an_agent_of_the_service_sees_the_absence(agent_client, commune, absence):
    response = agent_client.get(url("absences", commune))
    assert response.status_code == 200
    text = text_of(response)
    assert "DURAND Léa" in text
    assert "1 absence" in text
    assert "non justifiée — sans certificat" in text
    page = agent_client.get(url("absence", commune, absence.pk))
    assert page.status_code == 200
    text = text_of(page)
    assert "Absence de Léa DURAND" in text
    assert "Maladie — fièvre" in text
    assert "jeudi 19/11/2026 — Accueil Périscolaire Maternelle, Acc Matin (PERI_AM_M)" in text


def test_anonymous_goes_to_the_login(client, commune, absence):
    response = client.get(url("absence", commune, absence.pk))
    assert response.status_code == 302
    assert "/guichet/connexion/" in response.url


def test_an_agent_of_a_service_not_covered_does_not_see_it(client, commune, absence):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    assert "DURAND" not in text_of(client.get(url("absences", commune)))
    assert client.get(url("absence", commune, absence.pk)).status_code == 404
    response = client.post(
        url("absence", commune, absence.pk), {"decision": "justifiee", "reason": "grève"}
    )
    assert response.status_code == 404
    absence.refresh_from_db()
    assert absence.justified is False


def test_an_agent_of_another_commune_gets_404(client, commune, absence):
    other = CommuneFactory(name="Autreville", slug="autreville")
    client.force_login(make_agent(other, AgentRole.Role.ENFANCE))
    assert client.get(url("absence", commune, absence.pk)).status_code == 404
    assert client.get(url("absence", other, absence.pk)).status_code == 404
    assert "DURAND" not in text_of(client.get(url("absences", other)))


def test_a_child_not_registered_to_the_services_activities_is_not_seen(
    agent_client, commune, activity
):
    unregistered = absent_child(commune, None, name="SANSINSCRIPTION")
    pending = absent_child(commune, None, name="ENATTENTE")
    register(pending.child, activity, status=InscriptionStatus.EN_ATTENTE)
    text = text_of(agent_client.get(url("absences", commune)))
    assert "SANSINSCRIPTION" not in text and "ENATTENTE" not in text
    assert agent_client.get(url("absence", commune, unregistered.pk)).status_code == 404
    assert agent_client.get(url("absence", commune, pending.pk)).status_code == 404


def test_the_administrator_sees_every_service(client, commune, absence):
    client.force_login(make_agent(commune, AgentRole.Role.ADMINISTRATEUR))
    assert client.get(url("absence", commune, absence.pk)).status_code == 200


# --- Filters, pagination, queries ----------------------------------------------------------------


def test_filter_by_day_and_state(agent_client, commune, activity):
    absent_child(commune, activity, name="AUJOURDHUI")
    absent_child(
        commune, activity, name="SEMAINE", first_day=date(2026, 11, 23),
        last_day=date(2026, 11, 25),
    )  # fmt: skip
    text = text_of(agent_client.get(url("absences", commune), {"jour": "2026-11-24"}))
    assert "SEMAINE" in text and "AUJOURDHUI" not in text
    assert "(liste filtrée)" in text
    text = text_of(agent_client.get(url("absences", commune), {"jour": "2026-11-25"}))
    assert "SEMAINE" in text  # the last day included
    text = text_of(agent_client.get(url("absences", commune), {"jour": "2026-11-26"}))
    assert "Aucune absence." in text
    Absence.objects.filter(child__famille__name="SEMAINE").update(justified=True)
    text = text_of(agent_client.get(url("absences", commune), {"etat": "justifiee"}))
    assert "SEMAINE" in text and "AUJOURDHUI" not in text
    text = text_of(agent_client.get(url("absences", commune), {"etat": "non_justifiee"}))
    assert "AUJOURDHUI" in text and "SEMAINE" not in text


def test_a_bad_filter_is_said_not_a_500(agent_client, commune, absence):
    response = agent_client.get(url("absences", commune), {"jour": "2026-13-45", "page": "x"})
    assert response.status_code == 200
    assert "Indiquez une date valide" in text_of(response)


def test_the_list_is_paginated_and_costs_the_same_whatever_its_length(
    agent_client, commune, activity, django_assert_max_num_queries
):
    absent_child(commune, activity, name="PREMIER")
    with django_assert_max_num_queries(30) as few:
        agent_client.get(url("absences", commune))
    for n in range(30):
        absent_child(commune, activity, name=f"FAMILLE{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = agent_client.get(url("absences", commune))
    assert len(response.context["rows"]) == 25
    assert "Page 1 sur 2" in text_of(response)
    assert len(agent_client.get(url("absences", commune), {"page": 2}).context["rows"]) == 6


# --- One absence: the certificate and the decision -----------------------------------------------


def test_the_certificate_links_to_the_agents_document_page(agent_client, commune, activity):
    absence = absent_child(
        commune,
        activity,
        certificate_upload=certificate(),
    )
    response = agent_client.get(url("absence", commune, absence.pk))
    document_url = reverse("backoffice:document", args=[commune.slug, absence.certificate_id])
    assert document_url in response.content.decode()
    assert "justifiée — certificat reçu dans les 72 h" in text_of(response)
    assert agent_client.get(document_url).status_code == 200


def test_marquer_justifiee_with_a_reason(
    agent_client, enfance_agent, commune, absence, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("absence", commune, absence.pk), {"decision": "justifiee", "reason": "grève"}
        )
    assert response.status_code == 302
    absence.refresh_from_db()
    assert (absence.justified, absence.justification) == (True, "grève")
    entry = AuditEntry.objects.get(action="absence.decision")
    assert entry.actor == enfance_agent
    assert entry.changes["justified"] == [False, True]
    (message,) = mail.outbox
    assert message.to == ["durand@example.fr"]
    assert "Cette absence est justifiée (grève)" in message.body
    text = text_of(agent_client.get(response.url))
    assert "L'absence est marquée justifiée" in text
    assert "✓ justifiée — grève" in text


def test_marquer_non_justifiee(agent_client, commune, activity):
    absence = absent_child(
        commune,
        activity,
        certificate_upload=certificate(),
    )
    assert absence.justified is True
    agent_client.post(
        url("absence", commune, absence.pk),
        {"decision": "non_justifiee", "reason": "certificat illisible"},
    )
    absence.refresh_from_db()
    assert (absence.justified, absence.justification) == (False, "certificat illisible")


def test_a_decision_needs_a_reason_and_a_choice(agent_client, commune, absence):
    response = agent_client.post(
        url("absence", commune, absence.pk), {"decision": "justifiee", "reason": "  "}
    )
    assert response.status_code == 400
    assert "Indiquez la raison de la décision" in text_of(response)
    response = agent_client.post(url("absence", commune, absence.pk), {"reason": "grève"})
    assert response.status_code == 400
    assert "Choisissez « Marquer justifiée » ou « Marquer non justifiée »" in text_of(response)
    response = agent_client.post(
        url("absence", commune, absence.pk), {"decision": "n'importe", "reason": "grève"}
    )
    assert response.status_code == 400
    absence.refresh_from_db()
    assert absence.justified is False
    assert not AuditEntry.objects.filter(action="absence.decision").exists()


def test_the_bookings_shown_are_those_of_the_agents_services(client, commune, activity):
    absence = absent_child(commune, activity)
    other = make_activity(commune, name="Étude", slug="etude")
    other.service.kind = "scolaire"
    other.service.save()
    register(absence.child, other)
    Reservation.objects.create(
        commune=commune, famille=absence.famille, child=absence.child, unit=other.units.get(),
        day=TODAY, status=BookingStatus.RESERVEE,
    )  # fmt: skip
    client.force_login(make_agent(commune, AgentRole.Role.SCOLAIRE))
    text = text_of(client.get(url("absence", commune, absence.pk)))
    assert "Étude" in text
    assert "Accueil Périscolaire Maternelle, Acc Matin" not in text
