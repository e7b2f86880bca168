"""The agents' queue of inscriptions and bookings « en attente d'instruction »: accepting an
inscription the family asked for goes through its request (accepted, e-mailed, audited, the
inscription with it), deciding from the generic queue of requests moves the inscription too,
refusals in bulk need a reason (said next to the field, nothing changed without it), a refused
booking gives its seat to the first of the waiting list, an agent of another service changes
nothing, and both queues are paginated with the same number of queries on every page."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import services_instruction as services
from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    BookingEvent,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    UnitDay,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import validate_basket
from parvis.activities.services_inscriptions import request_inscriptions
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.catalogue import load_catalogue
from parvis.demarches.models import DemandeEvent, Status
from parvis.families.models import SchoolLevel
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


def url(name, commune, *args):
    return reverse(f"guichet_activites:{name}", args=[commune.slug, *args])


def open_monday(commune):
    """A Monday at least two weeks ahead that is a school day (whatever day the tests run)."""
    today = timezone.localdate()
    monday = today + timedelta(days=14 - today.weekday())
    while closed_reason(
        monday, zone=commune.holiday_zone or "C", weekdays=[0], during="school",
        start=monday, end=monday,
    ):  # fmt: skip
        monday += timedelta(weeks=1)
    return monday


@pytest.fixture
def day(commune):
    return open_monday(commune)


@pytest.fixture
def activity(commune, day):
    activity = make_activity(
        commune, slug="mercredi", name="Accueil de loisirs du mercredi", needs_instruction=True,
        start=timezone.localdate(), end=day + timedelta(days=300), capacity=1,
    )  # fmt: skip
    load_catalogue(commune)
    return activity


@pytest.fixture
def unit(activity):
    return activity.units.get()


def family_child(commune, name="MARTIN", email=None):
    famille = FamilleFactory(commune=commune, name=name)
    access = FamilyAccessFactory(famille=famille, **({"user__email": email} if email else {}))
    child = ChildFactory(famille=famille, first_names="Léa", level=SchoolLevel.MATERNELLE)
    return child, access.user


def filed(commune, activity, name="MARTIN", email=None):
    """A child whose family asked for the inscription (a request « en attente »)."""
    child, user = family_child(commune, name, email)
    request_inscriptions(user=user, commune=commune, activity=activity, children=[child])
    return Inscription.objects.select_related("demande").get(child=child, activity=activity)


def book(child, activity, unit, day):
    now = datetime.combine(timezone.localdate(), time(0, 5), tzinfo=PARIS)
    validate_basket(
        famille=child.famille, child=child, activity=activity, add=[(unit, day)], remove=[],
        actor=None, now=now,
    )  # fmt: skip
    return Reservation.objects.get(child=child, unit=unit, day=day)


def booked(commune, activity, unit, day, name, email=None):
    child, _user = family_child(commune, name, email)
    register(child, activity)
    return book(child, activity, unit, day)


# --- Inscriptions: accept -------------------------------------------------------------------------


def test_accepting_a_requested_inscription_accepts_its_request(
    agent_client, commune, activity, enfance_agent, django_capture_on_commit_callbacks
):
    inscription = filed(commune, activity, email="martin@example.fr")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("valider_inscriptions", commune), {"ids": [inscription.pk]}
        )

    assert response.status_code == 302
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.ACCEPTEE
    assert inscription.decided_at is not None
    demande = inscription.demande
    demande.refresh_from_db()
    assert demande.status == Status.ACCEPTEE
    event = DemandeEvent.objects.get(demande=demande, to_status=Status.ACCEPTEE)
    assert event.actor == enfance_agent
    assert "Inscription de Léa à « Accueil de loisirs du mercredi » acceptée." in event.comment
    (message,) = mail.outbox
    assert message.to == ["martin@example.fr"]
    assert demande.number in message.subject and "Acceptée" in message.subject
    assert "Inscription de Léa" in message.body
    assert AuditEntry.objects.filter(action="demande.transition").count() == 1
    assert AuditEntry.objects.filter(action="inscription.accept").count() == 1


@pytest.mark.parametrize("name", ["valider_inscriptions", "refuser_inscriptions"])
def test_garbage_ticked_ids_change_nothing_and_never_crash(agent_client, commune, activity, name):
    inscription = filed(commune, activity)
    garbage = ["²", "9" * 30, "abc", "-1", ""]
    response = agent_client.post(
        url(name, commune), {"ids": garbage, "inscriptions-motif": "Complet"}
    )
    assert response.status_code in (302, 400)
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.EN_ATTENTE


def test_a_request_waiting_for_a_complement_is_accepted_too(
    agent_client, commune, activity, enfance_agent, django_capture_on_commit_callbacks
):
    from parvis.demarches import services as demarches_services

    inscription = filed(commune, activity)
    demarches_services.ask_complement(
        demande=inscription.demande, agent=enfance_agent, message="Le certificat ?"
    )
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(url("valider_inscriptions", commune), {"ids": [inscription.pk]})
    inscription.refresh_from_db()
    inscription.demande.refresh_from_db()
    assert inscription.status == InscriptionStatus.ACCEPTEE
    assert inscription.demande.status == Status.ACCEPTEE


# --- Inscriptions: the generic queue of requests -------------------------------------------------


def demande_url(name, commune, number):
    return reverse(f"backoffice:demande_{name}", kwargs={"commune": commune.slug, "number": number})


def test_accepting_from_the_queue_of_requests_accepts_the_inscription(
    agent_client, commune, activity
):
    inscription = filed(commune, activity)
    response = agent_client.post(demande_url("accepter", commune, inscription.demande.number))
    assert response.status_code == 302
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.ACCEPTEE
    assert inscription.decided_at is not None


def test_refusing_from_the_queue_of_requests_refuses_the_inscription_with_the_reason(
    agent_client, commune, activity
):
    inscription = filed(commune, activity)
    agent_client.post(
        demande_url("refuser", commune, inscription.demande.number),
        {"refuser-text": "Le centre est complet le mercredi."},
    )
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.REFUSEE
    assert inscription.refusal_reason == "Le centre est complet le mercredi."
    assert AuditEntry.objects.filter(action="inscription.refuse").count() == 1


def test_dismissing_in_a_batch_refuses_the_inscription(
    agent_client, commune, activity, django_capture_on_commit_callbacks
):
    inscription = filed(commune, activity)
    with django_capture_on_commit_callbacks(execute=True):  # the batch is a background job
        agent_client.post(
            reverse("backoffice:demandes_lot", kwargs={"commune": commune.slug}),
            {"demandes": [inscription.demande.number], "action": "classer"},
        )
    inscription.refresh_from_db()
    inscription.demande.refresh_from_db()
    assert inscription.demande.status == Status.SANS_SUITE
    assert inscription.status == InscriptionStatus.REFUSEE
    assert inscription.refusal_reason == "Demande classée sans suite."


# --- Inscriptions: refuse -------------------------------------------------------------------------


def test_refusing_without_a_reason_changes_nothing_and_says_so_next_to_the_field(
    agent_client, commune, activity
):
    inscription = filed(commune, activity)
    response = agent_client.post(
        url("refuser_inscriptions", commune), {"ids": [inscription.pk], "inscriptions-motif": " "}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_inscriptions-motif_error"' in html
    assert "Indiquez le motif du refus : il est envoyé à la famille." in text_of(response)
    box = re.search(rf'<input[^>]*id="inscription-{inscription.pk}"[^>]*>', html).group(0)
    assert "checked" in box  # the ticked boxes come back ticked
    inscription.refresh_from_db()
    inscription.demande.refresh_from_db()
    assert inscription.status == InscriptionStatus.EN_ATTENTE
    assert inscription.demande.status == Status.EN_ATTENTE
    assert not AuditEntry.objects.filter(action__startswith="inscription.refuse").exists()


def test_refusing_in_bulk_refuses_requests_and_tells_families(
    agent_client, commune, activity, django_capture_on_commit_callbacks
):
    requested = filed(commune, activity, email="martin@example.fr")
    child, _user = family_child(commune, "PETIT", email="petit@example.fr")
    by_agent = register(child, activity, InscriptionStatus.EN_ATTENTE)  # no request
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("refuser_inscriptions", commune),
            {"ids": [requested.pk, by_agent.pk], "inscriptions-motif": "Plus de place."},
        )

    assert response.status_code == 302
    for inscription in (requested, by_agent):
        inscription.refresh_from_db()
        assert inscription.status == InscriptionStatus.REFUSEE
        assert inscription.refusal_reason == "Plus de place."
    requested.demande.refresh_from_db()
    assert requested.demande.status == Status.REFUSEE
    by_to = {tuple(m.to): m for m in mail.outbox}
    assert "Plus de place." in by_to[("martin@example.fr",)].body  # the request's e-mail
    assert "Plus de place." in by_to[("petit@example.fr",)].body
    assert "Léa PETIT — Accueil de loisirs du mercredi" in by_to[("petit@example.fr",)].body
    assert AuditEntry.objects.filter(action="inscription.refuse").count() == 2


def test_an_agent_of_another_service_changes_nothing(client, commune, activity, unit, day):
    inscription = filed(commune, activity)
    booking = booked(commune, activity, unit, day, "PETIT")
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    assert "Accueil de loisirs" not in text_of(client.get(url("a_valider", commune)))
    for name, data in (
        ("valider_inscriptions", {"ids": [inscription.pk]}),
        ("refuser_inscriptions", {"ids": [inscription.pk], "inscriptions-motif": "Non."}),
        ("valider_reservations", {"ids": [booking.pk]}),
        ("refuser_reservations", {"ids": [booking.pk], "reservations-motif": "Non."}),
    ):
        response = client.post(url(name, commune), data)
        assert response.status_code == 302
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.EN_ATTENTE
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EN_ATTENTE
    # An agent of another commune: 404 on that commune's queue.
    client.force_login(make_agent(CommuneFactory(slug="autreville"), AgentRole.Role.ENFANCE))
    assert client.get(url("a_valider", commune)).status_code == 404
    assert (
        client.post(
            url("refuser_inscriptions", commune),
            {"ids": [inscription.pk], "inscriptions-motif": "Non."},
        ).status_code
        == 404
    )


# --- Bookings: refuse ----------------------------------------------------------------------------


def test_refusing_a_booking_frees_its_seat_for_the_first_waiting(
    agent_client, commune, activity, unit, day, django_capture_on_commit_callbacks
):
    pending = booked(commune, activity, unit, day, "MARTIN", email="martin@example.fr")
    first = booked(commune, activity, unit, day, "PREMIER", email="premier@example.fr")
    second = booked(commune, activity, unit, day, "SECOND", email="second@example.fr")
    assert pending.status == BookingStatus.EN_ATTENTE  # one seat, taken
    assert first.status == second.status == BookingStatus.LISTE_ATTENTE
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("refuser_reservations", commune),
            {"ids": [pending.pk], "reservations-motif": "Sortie annulée ce jour-là."},
        )

    assert response.status_code == 302
    assert not Reservation.objects.filter(pk=pending.pk).exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == BookingStatus.PROPOSEE
    assert second.status == BookingStatus.LISTE_ATTENTE
    assert UnitDay.objects.get(unit=unit, day=day).taken == 1  # now the offer's
    event = BookingEvent.objects.get(action="refused")
    assert (event.child_id, event.day, event.status) == (
        pending.child_id,
        day,
        BookingStatus.EN_ATTENTE,
    )
    assert AuditEntry.objects.filter(action="reservation.refuse").count() == 1
    by_to = {tuple(m.to): m for m in mail.outbox}
    assert set(by_to) == {("martin@example.fr",), ("premier@example.fr",)}
    assert "Sortie annulée ce jour-là." in by_to[("martin@example.fr",)].body
    assert "Accueil de loisirs du mercredi, Acc Matin (PERI_AM_M)" in (
        by_to[("martin@example.fr",)].body
    )
    assert "une place s'est libérée" in by_to[("premier@example.fr",)].subject


def test_refusing_a_booking_nobody_waits_for_gives_the_seat_back(commune, activity, unit, day):
    pending = booked(commune, activity, unit, day, "MARTIN")
    count = services.refuse_bookings(
        commune=commune, actor=None, ids=[pending.pk], activities=[activity], reason="Non."
    )
    assert count == 1
    assert UnitDay.objects.get(unit=unit, day=day).taken == 0


def test_refusing_a_booking_without_a_reason_changes_nothing(
    agent_client, commune, activity, unit, day
):
    pending = booked(commune, activity, unit, day, "MARTIN")
    response = agent_client.post(
        url("refuser_reservations", commune), {"ids": [pending.pk], "reservations-motif": ""}
    )
    assert response.status_code == 400
    assert 'id="id_reservations-motif_error"' in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == BookingStatus.EN_ATTENTE
    assert not BookingEvent.objects.filter(action="refused").exists()
    with pytest.raises(ValueError):
        services.refuse_bookings(
            commune=commune, actor=None, ids=[pending.pk], activities=[activity], reason="  "
        )


def test_only_bookings_waiting_for_an_agent_are_refused(commune, activity, unit, day):
    booked(commune, activity, unit, day, "MARTIN")
    waiting = booked(commune, activity, unit, day, "ATTENTE")
    count = services.refuse_bookings(
        commune=commune, actor=None, ids=[waiting.pk], activities=[activity], reason="Non."
    )
    assert count == 0
    assert Reservation.objects.filter(pk=waiting.pk).exists()


# --- Pagination ----------------------------------------------------------------------------------


def test_both_queues_are_paginated_with_the_same_queries_on_every_page(
    agent_client, commune, activity, unit, day, django_assert_max_num_queries
):
    activity.units.update(capacity=None)
    days = [day + timedelta(days=n) for n in range(200)]
    famille = FamilleFactory(commune=commune, name="NOMBREUX")
    children = ChildFactory.create_batch(51, famille=famille)
    for child in children:
        register(child, activity, InscriptionStatus.EN_ATTENTE)
    booker = ChildFactory(famille=famille)
    register(booker, activity)
    open_days = [
        d for d in days
        if not closed_reason(d, zone=commune.holiday_zone or "C", weekdays=unit.weekdays,
                             during="school", start=d, end=d)
    ][:51]  # fmt: skip
    assert len(open_days) == 51
    now = datetime.combine(timezone.localdate(), time(0, 5), tzinfo=PARIS)
    validate_basket(
        famille=famille, child=booker, activity=activity, add=[(unit, d) for d in open_days],
        remove=[], actor=None, now=now,
    )  # fmt: skip
    assert Reservation.objects.filter(status=BookingStatus.EN_ATTENTE).count() == 51

    agent_client.get(url("a_valider", commune))  # warm the session
    # Commune, session, user, roles, then a count and a page per queue.
    with django_assert_max_num_queries(8) as one:
        first = agent_client.get(url("a_valider", commune))
    page = text_of(first)
    assert "51 inscriptions en attente d'instruction" in page
    assert "51 réservations en attente d'instruction" in page
    assert first.content.decode().count('name="ids"') == 100
    assert "Page 1 sur 2" in page
    assert "Page suivante" in page
    assert "?page_inscriptions=2" in first.content.decode()
    assert "?page_reservations=2" in first.content.decode()

    with django_assert_max_num_queries(len(one.captured_queries)):
        second = agent_client.get(
            url("a_valider", commune) + "?page_inscriptions=2&page_reservations=2"
        )
    html = second.content.decode()
    assert html.count('name="ids"') == 2
    assert "Page précédente" in text_of(second)
    # The decisions keep the agent on the pages they were on.
    assert "a-valider/inscriptions/?page_inscriptions=2&amp;page_reservations=2" in html
    response = agent_client.post(
        url("valider_inscriptions", commune) + "?page_inscriptions=2", {"ids": ["0"]}
    )
    assert response.url.endswith("a-valider/?page_inscriptions=2")


def test_a_page_beyond_the_last_shows_the_last(agent_client, commune, activity):
    filed(commune, activity)
    response = agent_client.get(url("a_valider", commune) + "?page_inscriptions=9&x=<b>")
    assert response.status_code == 200
    assert "1 inscription en attente d'instruction" in text_of(response)
    assert 'name="ids"' in response.content.decode()
