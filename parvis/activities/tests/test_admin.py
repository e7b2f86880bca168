"""Activities in the admin, tried from the outside as in parvis/communes/tests/test_admin.py: a
commune's administrator lists and edits only their commune's activities, a broken booking rule
comes back with its error, and another commune's activity is out of reach."""

from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities.models import Activity, ActivityClosure, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import Family
from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory
from parvis.communes.tests.test_admin import form_data, submit

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:activities_activity_changelist"


def change_url(obj):
    return reverse(f"admin:activities_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def alpha():
    commune = CommuneFactory(name="VilleAlpha", slug="ville-alpha")
    return make_activity(commune, name="Accueil Alpha", slug="accueil-alpha")


@pytest.fixture
def beta():
    commune = CommuneFactory(name="VilleBeta", slug="ville-beta")
    return make_activity(commune, name="Accueil Beta", slug="accueil-beta")


@pytest.fixture
def as_admin_alpha(client, alpha):
    client.force_login(CommuneAdminFactory(commune=alpha.commune))
    return client


def test_administrator_lists_only_their_communes_activities(as_admin_alpha, alpha, beta):
    page = as_admin_alpha.get(reverse(CHANGELIST)).content.decode()
    assert "Accueil Alpha" in page
    assert "Accueil Beta" not in page


def test_another_communes_activity_cannot_be_opened(as_admin_alpha, beta):
    response = as_admin_alpha.get(change_url(beta))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_change_page_shows_units_inline_and_rule_help(as_admin_alpha, alpha):
    response = as_admin_alpha.get(change_url(alpha))
    page = response.content.decode()
    assert "PERI_AM_M" in page
    # The rules by form (issue 21 §7): their inputs and their sentences, no JSON to write.
    assert "la veille ouvrée à 9 h (le vendredi pour le lundi)" in page
    assert 'name="booking_deadline_kind"' in page
    assert '<option value="days_before" selected>' in page
    # The commune is not a choice for a commune's administrator; the service only among theirs.
    assert 'name="commune"' not in page
    services = response.context["adminform"].form.fields["service"].queryset
    assert set(services.values_list("commune_id", flat=True)) == {alpha.commune_id}


def test_a_broken_rule_comes_back_with_its_error(as_admin_alpha, alpha):
    url = change_url(alpha)
    response = submit(
        as_admin_alpha, url, booking_deadline_kind="days_before", booking_deadline_days="-1"
    )
    assert response.status_code == 200
    assert "Nombre de jours avant (J-N) : un nombre entier de 0 à 60." in response.content.decode()
    alpha.refresh_from_db()
    assert alpha.booking_deadline["days"] == 1


def test_a_valid_change_is_saved(as_admin_alpha, alpha):
    rule = {"kind": "hours_before", "hours": 72}
    response = submit(
        as_admin_alpha, change_url(alpha), cancel_deadline_kind="hours_before",
        cancel_deadline_hours="72",
    )  # fmt: skip
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.cancel_deadline == rule
    # Audited as at the guichet, in sentences.
    entry = AuditEntry.objects.get(action="activite.regles")
    assert entry.changes == {
        "cancel_deadline": [
            "Annulation jusqu'à la veille ouvrée à 9 h (le vendredi pour le lundi).",
            "Annulation jusqu'à 72 heures avant le début de l'accueil.",
        ]
    }


def test_closures_are_scoped_and_take_the_communes(as_admin_alpha, alpha, beta):
    ActivityClosure.objects.create(commune=beta.commune, day="2026-10-01", reason="Grève Beta")
    page = as_admin_alpha.get(reverse("admin:activities_activityclosure_changelist"))
    assert "Grève Beta" not in page.content.decode()
    add = reverse("admin:activities_activityclosure_add")
    data = form_data(as_admin_alpha.get(add))
    data.update({"day": "05/10/2026", "reason": "Travaux", "activity": str(alpha.pk)})
    assert as_admin_alpha.post(add, data).status_code == 302
    closure = ActivityClosure.objects.get(reason="Travaux")
    assert closure.commune_id == alpha.commune_id
    assert closure.created_by is not None
    # Another commune's activity is not a choice.
    data.update({"reason": "Autre", "activity": str(beta.pk)})
    assert as_admin_alpha.post(add, data).status_code == 200
    assert not ActivityClosure.objects.filter(reason="Autre").exists()
    assert Activity.objects.count() == 2


# --- A closure made in the admin does what the guichet's « Fermer » does -----------------------

MONDAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)


@pytest.fixture
def booked(alpha):
    """Two families booked on Monday 30 November (one seat left of three), a third activity's
    booking the same day elsewhere in the commune."""
    unit = alpha.units.get()
    unit.capacity = 3
    unit.save()
    people = [Family(alpha.commune, name) for name in ("ANNE", "BRUNO")]
    other = make_activity(alpha.commune, name="Cantine", slug="cantine", capacity=10)
    for person in people:
        register(person.child, alpha)
        register(person.child, other)
        with time_machine.travel(NOW, tick=False):
            person.book(alpha, add=[MONDAY])
            person.book(other, add=[MONDAY])
    mail.outbox.clear()
    return unit, other, people


@pytest.fixture
def close(as_admin_alpha, django_capture_on_commit_callbacks):
    """Adds a closure in the admin (Monday 30 November, « Grève » unless said otherwise)."""

    def add_closure(**fields):
        add = reverse("admin:activities_activityclosure_add")
        data = form_data(as_admin_alpha.get(add))
        data.update({"day": "30/11/2026", "reason": "Grève", **fields})
        with django_capture_on_commit_callbacks(execute=True):  # e-mails leave once committed
            return as_admin_alpha.post(add, data)

    return add_closure


def test_an_admin_closure_removes_the_days_bookings_and_gives_the_seats_back(alpha, booked, close):
    unit, other, _people = booked
    assert close(activity=str(alpha.pk)).status_code == 302
    assert not Reservation.objects.filter(unit=unit, day=MONDAY).exists()
    assert UnitDay.objects.get(unit=unit, day=MONDAY).taken == 0
    # The other activity of the commune is open that day.
    assert Reservation.objects.filter(unit__activity=other, day=MONDAY).count() == 2
    assert (
        sorted(m.subject for m in mail.outbox)
        == ["VilleAlpha — Accueil Alpha fermé le 30/11/2026"] * 2
    )
    closure = ActivityClosure.objects.get()
    entry = AuditEntry.objects.get(action="activite.fermeture")
    assert (entry.target_id, entry.changes["removed"]) == (str(alpha.pk), [None, 2])
    assert closure.created_by is not None


def test_an_admin_closure_of_every_activity_closes_them_all(booked, close):
    assert close(activity="").status_code == 302
    assert not Reservation.objects.filter(day=MONDAY).exists()
    assert set(UnitDay.objects.filter(day=MONDAY).values_list("taken", flat=True)) == {0}
    assert len(mail.outbox) == 4  # one e-mail per family and activity closed
    assert ActivityClosure.objects.get().activity is None


def test_a_second_closure_of_the_same_day_is_refused_next_to_the_field(alpha, booked, close):
    assert close(activity=str(alpha.pk)).status_code == 302
    response = close(activity=str(alpha.pk), reason="Encore")
    assert response.status_code == 200
    assert "Une fermeture existe déjà ce jour-là pour cette activité." in response.content.decode()
    assert ActivityClosure.objects.count() == 1


def test_a_closure_changed_afterwards_keeps_its_day_and_activity(
    as_admin_alpha, alpha, booked, close
):
    close(activity=str(alpha.pk))
    closure = ActivityClosure.objects.get()
    response = submit(as_admin_alpha, change_url(closure), reason="Grève nationale")
    assert response.status_code == 302
    closure.refresh_from_db()
    assert (closure.reason, closure.day, closure.activity_id) == (
        "Grève nationale",
        MONDAY,
        alpha.pk,
    )
    page = as_admin_alpha.get(change_url(closure)).content.decode()
    assert 'name="day"' not in page and 'name="activity"' not in page
