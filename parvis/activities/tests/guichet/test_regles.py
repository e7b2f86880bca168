"""The agents' « Règles de réservation » page (issue 21 §7): the rules in sentences, a preview
that saves nothing, a change saved by form (audited, in the journal's words) that the families'
calendar follows at the minute, French errors next to the wrong rule with the entries kept, and
the usual scoping (another commune's or another service's activity is a 404)."""

from datetime import date, datetime, time

import pytest
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities.models import Activity
from parvis.activities.rules import PARIS
from parvis.activities.services import why_not_bookable
from parvis.activities.tests.factories import make_activity
from parvis.activities.tests.test_rules_form import post_of
from parvis.communes.tests.factories import CommuneFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

DAY_BEFORE_9H = {"kind": "days_before", "days": 1, "time": "09:00", "working_days": True}
FRIDAY_BEFORE = {"kind": "weekly", "weekday": 4, "time": "09:00"}


@pytest.fixture
def activity(commune):
    return make_activity(
        commune, slug="peri", start=date(2026, 9, 1), end=date(2027, 7, 3),
        booking_deadline=DAY_BEFORE_9H, cancel_deadline=DAY_BEFORE_9H,
    )  # fmt: skip


def url(activity):
    return reverse("guichet_activites:regles", args=[activity.commune.slug, activity.slug])


def rules_post(*, opening=None, booking=DAY_BEFORE_9H, cancel=DAY_BEFORE_9H, **extra):
    return {
        **post_of("booking_opens", opening, opening=True),
        **post_of("booking_deadline", booking),
        **post_of("cancel_deadline", cancel),
        **extra,
    }


def test_the_page_says_the_rules_in_sentences(
    agent_client, activity, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        response = agent_client.get(url(activity))
    assert response.status_code == 200
    text = text_of(response)
    assert "Règles en vigueur" in text
    assert "Réservation ouverte dès l'inscription acceptée." in text
    assert "Réservation jusqu'à la veille ouvrée à 9 h (le vendredi pour le lundi)." in text
    assert "Annulation jusqu'à la veille ouvrée à 9 h" in text
    page = response.content.decode()
    assert '<option value="days_before" selected>' in page
    assert "{&quot;kind&quot;" not in page and '{"kind"' not in page  # no JSON to write


def test_the_activities_list_links_to_it(agent_client, activity):
    page = agent_client.get(
        reverse("guichet_activites:activites", args=[activity.commune.slug])
    ).content.decode()
    assert url(activity) in page


def test_preview_shows_the_new_sentence_and_saves_nothing(agent_client, activity):
    response = agent_client.post(
        url(activity), rules_post(booking=FRIDAY_BEFORE, previsualiser="1")
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Aperçu des règles saisies (non enregistrées)" in text
    assert "Réservation jusqu'au vendredi 9 h de la semaine précédente." in text
    activity.refresh_from_db()
    assert activity.booking_deadline == DAY_BEFORE_9H
    assert not AuditEntry.objects.filter(action="activite.regles").exists()


def test_a_change_is_saved_audited_and_the_calendar_follows(
    agent_client, enfance_agent, activity, django_assert_max_num_queries
):
    with django_assert_max_num_queries(16):
        response = agent_client.post(url(activity), rules_post(booking=FRIDAY_BEFORE))
    assert response.status_code == 302
    activity = Activity.objects.get(pk=activity.pk)
    assert activity.booking_deadline == FRIDAY_BEFORE
    assert activity.cancel_deadline == DAY_BEFORE_9H
    entry = AuditEntry.objects.get(action="activite.regles")
    assert entry.actor == enfance_agent
    assert entry.changes == {
        "booking_deadline": [
            "Réservation jusqu'à la veille ouvrée à 9 h (le vendredi pour le lundi).",
            "Réservation jusqu'au vendredi 9 h de la semaine précédente.",
        ]
    }
    # Monday 14 September 2026: bookable until Friday 11th 08:59, locked from 09:00 (it was
    # bookable until Friday 09:00 as well under « la veille ouvrée »: take Tuesday 15th, which
    # was bookable until Monday 14th 09:00 and now closes on Friday 11th 09:00).
    unit = activity.units.get()
    tuesday = date(2026, 9, 15)

    def reason(at):
        return why_not_bookable(
            activity=activity, unit=unit, day=tuesday, closures={}, registered=True,
            now=datetime.combine(date(2026, 9, 11), at, tzinfo=PARIS),
        )  # fmt: skip

    assert reason(time(8, 59)) is None
    assert reason(time(9, 0)) == "date limite dépassée (vendredi 11 septembre 2026 à 09:00)"


def test_saving_the_same_rules_writes_no_audit_row(agent_client, activity):
    response = agent_client.post(url(activity), rules_post())
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="activite.regles").exists()


def test_a_wrong_rule_comes_back_with_its_french_error_and_entries(agent_client, activity):
    data = rules_post(booking=FRIDAY_BEFORE)
    data.update({"cancel_deadline_kind": "hours_before", "cancel_deadline_hours": "5000"})
    response = agent_client.post(url(activity), data)
    assert response.status_code == 400
    page = response.content.decode()
    text = text_of(response)
    assert text.startswith("Erreur :") or "Erreur :" in text
    assert "Nombre d'heures avant le début de l'accueil : un nombre entier de 0 à 1440." in text
    assert 'value="5000"' in page
    assert 'aria-invalid="true"' in page
    assert '<option value="4" selected>' in page  # the booking rule's entries kept too
    activity.refresh_from_db()
    assert activity.booking_deadline == DAY_BEFORE_9H


def test_another_communes_or_services_activity_is_a_404(client, commune, activity):
    other = make_activity(CommuneFactory(slug="ailleurs"), slug="peri")
    agent = make_agent(commune, AgentRole.Role.ENFANCE)
    client.force_login(agent)
    assert (
        client.get(reverse("guichet_activites:regles", args=[commune.slug, "inconnue"])).status_code
        == 404
    )
    assert client.get(url(other)).status_code in (302, 403, 404)
    etat_civil = make_agent(commune, AgentRole.Role.ETAT_CIVIL, username="ec")
    client.force_login(etat_civil)
    assert client.get(url(activity)).status_code == 404
    assert client.post(url(activity), rules_post(booking=FRIDAY_BEFORE)).status_code == 404
    activity.refresh_from_db()
    assert activity.booking_deadline == DAY_BEFORE_9H
