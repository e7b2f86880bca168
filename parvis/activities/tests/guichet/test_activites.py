"""The agents' activities pages: scoping (another commune, a service not covered → 404), the
occupancy of a week, closing a day (closure, bookings removed with history, seats freed,
families e-mailed, all or nothing), the queue with bulk acceptance, and query counts that do
not grow with the number of children. The registers have their own tests (test_registres.py);
closing a day as a background job too (test_fermeture.py)."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import reservations
from parvis.activities import services_instruction as services
from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    ActivityClosure,
    BookingEvent,
    BookingStatus,
    InscriptionStatus,
    Reservation,
    UnitDay,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import validate_basket
from parvis.activities.tests.factories import make_activity, register
from parvis.background.models import Job
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


def open_monday(commune):
    """A Monday at least a week ahead whose Monday and Tuesday are school days (whatever day
    the tests run)."""
    today = timezone.localdate()
    monday = today + timedelta(days=14 - today.weekday())
    while any(
        closed_reason(d, zone=commune.holiday_zone or "C", weekdays=[0, 1], during="school",
                      start=monday, end=monday + timedelta(days=1))
        for d in (monday, monday + timedelta(days=1))
    ):  # fmt: skip
        monday += timedelta(weeks=1)
    return monday


@pytest.fixture
def day(commune):
    return open_monday(commune)


@pytest.fixture
def activity(commune, day):
    start = timezone.localdate()
    return make_activity(
        commune, capacity=2, start=start, end=day + timedelta(days=300), slug="peri"
    )


@pytest.fixture
def unit(activity):
    return activity.units.get()


def book(child, activity, unit, day):
    """Through the families' basket, as a parent would (the seat counter stays right)."""
    now = datetime.combine(timezone.localdate(), time(0, 5), tzinfo=PARIS)
    return validate_basket(
        famille=child.famille, child=child, activity=activity, add=[(unit, day)], remove=[],
        actor=None, now=now,
    )  # fmt: skip


def booked_child(commune, activity, unit, day, *, pai=False, name="MARTIN", email=None):
    famille = FamilleFactory(commune=commune, name=name)
    if email:
        FamilyAccessFactory(famille=famille, user__email=email)
    child = ChildFactory(famille=famille, has_pai=pai, class_name="MS", school="Ecole du PARC")
    register(child, activity)
    book(child, activity, unit, day)
    return child


def url(name, commune, *args):
    return reverse(f"guichet_activites:{name}", args=[commune.slug, *args])


def all_urls(commune, activity, unit, day):
    jour = day.isoformat()
    return [
        ("get", url("occupation", commune, activity.slug)),
        ("get", url("registre", commune, activity.slug, unit.code, jour)),
        ("get", url("registre_csv", commune, activity.slug, unit.code, jour)),
        ("get", url("fermer", commune, activity.slug)),
        ("post", url("fermer", commune, activity.slug)),
    ]


# --- Scoping -------------------------------------------------------------------------------------


def test_anonymous_goes_to_the_login(client, commune, activity, unit, day):
    response = client.get(url("registre", commune, activity.slug, unit.code, day.isoformat()))
    assert response.status_code == 302
    assert "/guichet/connexion/" in response.url


def test_an_agent_of_another_commune_gets_404(client, commune, activity, unit, day):
    other = CommuneFactory(name="Autreville", slug="autreville")
    client.force_login(make_agent(other, AgentRole.Role.ENFANCE))
    for method, address in all_urls(commune, activity, unit, day):
        assert getattr(client, method)(address).status_code == 404, address
    # Nor through their own commune's address.
    for method, address in all_urls(other, activity, unit, day):
        assert getattr(client, method)(address).status_code == 404, address


def test_an_agent_of_a_service_not_covered_gets_404(client, commune, activity, unit, day):
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    for method, address in all_urls(commune, activity, unit, day):
        assert getattr(client, method)(address).status_code == 404, address
    assert activity.name not in text_of(client.get(url("activites", commune)))
    assert not ActivityClosure.objects.exists()


def test_unknown_unit_or_bad_date_is_404(agent_client, commune, activity, unit, day):
    assert (
        agent_client.get(
            url("registre", commune, activity.slug, "NOPE", day.isoformat())
        ).status_code
        == 404
    )
    assert (
        agent_client.get(
            url("registre", commune, activity.slug, unit.code, "2026-13-45")
        ).status_code
        == 404
    )


# --- Register: see test_registres.py ------------------------------------------------------------


# --- Occupancy -----------------------------------------------------------------------------------


def test_occupancy_of_a_week(
    agent_client, commune, activity, unit, day, django_assert_max_num_queries
):
    for name in ("A", "B", "C"):
        booked_child(commune, activity, unit, day, name=name)
    with django_assert_max_num_queries(12):
        response = agent_client.get(
            url("occupation", commune, activity.slug), {"semaine": day.isoformat()}
        )
    page = text_of(response)
    assert "2 / 2" in page
    assert "✕ complet" in page
    assert "1 en liste d'attente" in page
    assert "pas d'accueil ce jour de la semaine" in page  # Wednesday, Saturday, Sunday


# --- Closing a day -------------------------------------------------------------------------------


def test_closing_a_day_removes_bookings_frees_seats_and_tells_families(
    agent_client, commune, activity, unit, day, django_capture_on_commit_callbacks
):
    booked_child(commune, activity, unit, day, name="UN", email="un@example.fr")
    booked_child(commune, activity, unit, day, name="DEUX", email="deux@example.fr")
    booked_child(commune, activity, unit, day, name="TROIS", email="trois@example.fr")
    other_day = day + timedelta(days=1)
    kept = booked_child(commune, activity, unit, other_day, name="GARDE", email="g@example.fr")
    assert UnitDay.objects.get(unit=unit, day=day).taken == 2
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            url("fermer", commune, activity.slug), {"day": day.isoformat(), "reason": "Grève"}
        )
    # The click records the job and opens its page; the worker (here at once) closed the day.
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("backoffice:travail", args=[commune.slug, job.pk])
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 3, 3)
    closure = ActivityClosure.objects.get()
    assert (closure.activity, closure.day, closure.reason) == (activity, day, "Grève")
    assert not Reservation.objects.filter(day=day).exists()
    assert Reservation.objects.filter(child=kept, day=other_day).exists()
    assert UnitDay.objects.get(unit=unit, day=day).taken == 0
    assert BookingEvent.objects.filter(day=day, action="removed").count() == 3
    assert AuditEntry.objects.filter(action="activite.fermeture").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == [
        "deux@example.fr", "trois@example.fr", "un@example.fr",
    ]  # fmt: skip
    assert "Grève" in mail.outbox[0].body
    page = agent_client.get(response.url)
    assert "est fermé le" in text_of(page)  # the confirmation, on the job's page
    assert "3 réservations annulées." in text_of(page)
    # Its « Retour » goes to the week closed, which now says why.
    back = (
        f"{url('occupation', commune, activity.slug)}?semaine={day - timedelta(days=day.weekday())}"
    )
    assert back in page.content.decode()
    assert "fermeture : Grève" in text_of(agent_client.get(back))


def test_closing_twice_changes_nothing(agent_client, commune, activity, unit, day):
    services.close_day(commune=commune, activity=activity, day=day, reason="Grève", actor=None)
    response = agent_client.post(
        url("fermer", commune, activity.slug), {"day": day.isoformat(), "reason": "Autre"}
    )
    assert response.status_code == 400
    assert "déjà fermée ce jour-là" in text_of(response)
    assert ActivityClosure.objects.count() == 1


def test_closing_is_all_or_nothing(commune, activity, unit, day, monkeypatch):
    booked_child(commune, activity, unit, day)

    def broken(**kwargs):
        raise RuntimeError("audit down")

    # The closure's audit row is written with its moves, by the bookings' one owner.
    monkeypatch.setattr(reservations, "write_audit_many", broken)
    with pytest.raises(RuntimeError):
        services.close_day(commune=commune, activity=activity, day=day, reason="X", actor=None)
    assert not ActivityClosure.objects.exists()
    assert Reservation.objects.filter(day=day).count() == 1
    assert UnitDay.objects.get(unit=unit, day=day).taken == 1
    assert not BookingEvent.objects.filter(action="removed").exists()


def test_close_form_redisplays_with_french_errors(agent_client, commune, activity):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = agent_client.post(
        url("fermer", commune, activity.slug), {"day": yesterday.isoformat(), "reason": ""}
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Ce jour est passé." in page
    assert "Ce champ est obligatoire." in page


# --- The queue -----------------------------------------------------------------------------------


def test_bulk_accept_inscriptions_and_bookings(
    agent_client, commune, day, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    start = timezone.localdate()
    mercredi = make_activity(
        commune, slug="mercredi", name="Accueil de loisirs du mercredi", needs_instruction=True,
        start=start, end=day + timedelta(days=300),
    )  # fmt: skip
    hidden = make_activity(commune, slug="cache", name="Caché", start=start, end=mercredi.end)
    hidden.service.kind = "regie"
    hidden.service.save()
    unit = mercredi.units.get()
    children = [booked_child(commune, mercredi, unit, day, name=f"F{n}") for n in range(3)]
    waiting = [
        register(ChildFactory(famille=c.famille), mercredi, InscriptionStatus.EN_ATTENTE)
        for c in children
    ]
    out_of_scope = register(children[0], hidden, InscriptionStatus.EN_ATTENTE)

    with django_assert_max_num_queries(12):
        page = text_of(agent_client.get(url("a_valider", commune)))
    assert "3 inscriptions en attente d'instruction" in page
    assert "3 réservations en attente d'instruction" in page
    assert "Caché" not in page

    bookings = Reservation.objects.filter(status=BookingStatus.EN_ATTENTE)
    with django_capture_on_commit_callbacks(execute=True):  # the job runs at the commit
        response = agent_client.post(
            url("valider_reservations", commune), {"ids": [b.pk for b in bookings[:2]]}
        )
    assert response.status_code == 302
    assert Reservation.objects.filter(status=BookingStatus.RESERVEE).count() == 2
    assert Reservation.objects.filter(status=BookingStatus.EN_ATTENTE).count() == 1
    assert BookingEvent.objects.filter(action="accepted").count() == 2
    assert AuditEntry.objects.filter(action="reservation.accept").count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(
            url("valider_inscriptions", commune),
            {"ids": [w.pk for w in waiting] + [out_of_scope.pk]},
        )
    for inscription in waiting:
        inscription.refresh_from_db()
        assert inscription.status == InscriptionStatus.ACCEPTEE
        assert inscription.decided_at is not None
    out_of_scope.refresh_from_db()
    assert out_of_scope.status == InscriptionStatus.EN_ATTENTE
    assert AuditEntry.objects.filter(action="inscription.accept").count() == 3


def test_activities_page_lists_covered_activities(agent_client, commune, activity):
    page = text_of(agent_client.get(url("activites", commune)))
    assert activity.name in page
    assert "Registre du jour : Acc Matin (PERI_AM_M)" in page
