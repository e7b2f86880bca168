"""Issue 17 §4: « Fermer un jour » at the guichet is a background job (services_fermeture). The
click closes the day, records the job (its audit rows) and opens the job's page; a worker removes
the families' bookings batch by batch as close_day does (history, seats freed, one e-mail per
family), each batch in one transaction with the progress (families done / total) and a constant
number of queries; a batch that fails rolls back alone and « Reprendre » finishes without
removing or e-mailing anything twice. Only the agent who started it sees its page."""

# ruff: noqa: F811 (the fixtures imported from test_activites)

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import services_fermeture
from parvis.activities.models import (
    SEAT_HOLDING,
    ActivityClosure,
    BookingEvent,
    BookingStatus,
    Reservation,
    UnitDay,
)
from parvis.activities.services import BasketRefused
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.guichet.test_activites import (  # noqa: F401 (fixtures)
    activity,
    book,
    booked_child,
    day,
    unit,
    url,
)
from parvis.background import jobs
from parvis.background.models import Job, OutgoingEmail
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


def job_url(commune, job):
    return reverse("backoffice:travail", kwargs={"commune": commune.slug, "pk": job.pk})


def close(client, commune, activity, day, reason="Grève"):
    return client.post(
        url("fermer", commune, activity.slug), {"day": day.isoformat(), "reason": reason}
    )


def batches_of(size, run_batch=services_fermeture.run_batch):
    return jobs.JobKind(
        label=services_fermeture.JOB_KIND.label,
        run_batch=run_batch,
        summary=services_fermeture.summary,
        errors=services_fermeture.JOB_KIND.errors,
        batch_size=size,
    )


@pytest.fixture
def roomy(commune, day):
    """An activity with room for 20 a day."""
    return make_activity(
        commune,
        capacity=20,
        slug="roomy",
        start=day - timedelta(days=30),
        end=day + timedelta(days=300),
    )


def families(commune, activity, day, count, *, prefix="F"):
    unit = activity.units.get()
    return [
        booked_child(
            commune,
            activity,
            unit,
            day,
            name=f"{prefix}{n}",
            email=f"{prefix.lower()}{n}@example.fr",
        )
        for n in range(count)
    ]


def seats_held(unit, day):
    return Reservation.objects.filter(unit=unit, day=day, status__in=SEAT_HOLDING).count()


# --- The click ----------------------------------------------------------------------------------


def test_the_click_closes_the_day_at_once_and_queues_the_rest(
    agent_client, commune, activity, unit, day
):
    children = families(commune, activity, day, 3)  # capacity 2: the third waits
    other = make_activity(commune, slug="autre", start=activity.start, end=activity.end)
    kept = booked_child(commune, other, other.units.get(), day, name="AUTRE")
    # Without the commit, no worker has taken the job yet.
    response = close(agent_client, commune, activity, day)
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == job_url(commune, job)
    assert (job.kind, job.status, job.done, job.total) == ("activities.fermeture", "queued", 0, 3)
    # The families of this activity booked that day, not the other activity's.
    assert job.items == sorted(child.famille_id for child in children)
    monday = day - timedelta(days=day.weekday())
    assert job.return_url == f"{url('occupation', commune, activity.slug)}?semaine={monday}"
    assert ActivityClosure.objects.filter(activity=activity, day=day).exists()
    closing = AuditEntry.objects.get(action="activite.fermeture")
    assert closing.changes == {
        "day": [None, day.isoformat()], "reason": [None, "Grève"],
        "removed": [None, 3], "families": [None, 3],
    }  # fmt: skip
    started = AuditEntry.objects.get(action="travail.lance")
    assert started.changes == {"status": [None, "queued"], "items": [None, 3]}
    assert started.actor_id == closing.actor_id is not None
    # Nothing removed yet, but nobody can book the day any more.
    assert Reservation.objects.filter(unit=unit, day=day).count() == 3
    late = ChildFactory(famille=children[0].famille)
    register(late, activity)
    with pytest.raises(BasketRefused):
        book(late, activity, unit, day)
    page = agent_client.get(response.url)
    assert page["Refresh"] == "3"  # it follows the job without JavaScript
    text = text_of(page)
    assert "Fermeture d'un jour : réservations annulées, familles prévenues" in text
    assert "0 lignes sur 3 traitées" in text
    assert Reservation.objects.filter(child=kept, day=day).exists()


def test_a_day_nobody_booked_is_closed_without_a_job(agent_client, commune, activity, day):
    response = close(agent_client, commune, activity, day)
    assert response.status_code == 302
    assert response.url.startswith(url("occupation", commune, activity.slug))
    assert not Job.objects.exists()
    assert ActivityClosure.objects.filter(activity=activity, day=day).exists()
    assert AuditEntry.objects.get(action="activite.fermeture").changes["removed"] == [None, 0]
    text = text_of(agent_client.get(response.url))
    assert "personne n'avait réservé ce jour-là" in text
    assert "fermeture : Grève" in text


def test_closing_a_closed_day_says_it_next_to_the_day_and_queues_nothing(
    agent_client, commune, activity, unit, day
):
    families(commune, activity, day, 2)
    close(agent_client, commune, activity, day)
    response = close(agent_client, commune, activity, day, reason="Autre")
    assert response.status_code == 400
    html = response.content.decode()
    # The error stands in the day's field group, which the field points to.
    field = html[html.index('name="day"') - 400 : html.index('name="day"') + 400]
    assert "aria-invalid" in field or "aria-describedby" in field
    assert "déjà fermée ce jour-là" in text_of(response)
    # The form says what happens at once and what follows in the background.
    assert "Le jour est fermé dès votre clic" in text_of(response)
    assert "Fermer ce jour et prévenir les familles" in text_of(response)
    assert Job.objects.count() == 1 and ActivityClosure.objects.count() == 1


# --- The worker ---------------------------------------------------------------------------------


def test_each_family_is_told_once_with_all_its_children_and_nobody_is_offered_a_seat(
    agent_client, commune, activity, unit, day, monkeypatch, django_capture_on_commit_callbacks
):
    first = booked_child(commune, activity, unit, day, name="AINE", email="aine@example.fr")
    brother = ChildFactory(famille=first.famille, first_names="Léo")
    register(brother, activity)
    book(brother, activity, unit, day)  # capacity 2: both seats are the family's
    waiting = booked_child(commune, activity, unit, day, name="ATTENTE", email="attente@example.fr")
    assert Reservation.objects.get(child=waiting).status == BookingStatus.LISTE_ATTENTE
    mail.outbox.clear()
    # One family a batch: the first batch frees two seats while the waiting family is still
    # booked; it is offered none (it is removed by the next batch).
    monkeypatch.setitem(jobs.KINDS, services_fermeture.KIND, batches_of(1))
    with django_capture_on_commit_callbacks(execute=True):
        close(agent_client, commune, activity, day)
    job = Job.objects.get()
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 2, 2)
    assert job.result == {"removed": 3, "told": 2, "unreached": []}
    assert not Reservation.objects.filter(day=day).exists()
    assert UnitDay.objects.get(unit=unit, day=day).taken == 0
    assert not BookingEvent.objects.filter(action="offered").exists()
    assert sorted(m.to for m in mail.outbox) == [["aine@example.fr"], ["attente@example.fr"]]
    both = next(m for m in mail.outbox if m.to == ["aine@example.fr"])
    assert "Léo" in both.body and first.first_names in both.body
    assert "place s'est libérée" not in " ".join(m.subject for m in mail.outbox)


def test_a_batch_that_fails_is_rolled_back_and_reprendre_finishes_without_doing_twice(
    agent_client, commune, roomy, day, monkeypatch, django_capture_on_commit_callbacks
):
    unit = roomy.units.get()
    families(commune, roomy, day, 5)
    mail.outbox.clear()
    real, calls = services_fermeture.run_batch, []

    def fail_after_the_first(job, famille_ids):
        calls.append(famille_ids)
        counters = real(job, famille_ids)
        if len(calls) == 2:
            raise RuntimeError("the worker stops")  # after its writes, inside its transaction
        return counters

    monkeypatch.setitem(jobs.KINDS, services_fermeture.KIND, batches_of(2, fail_after_the_first))
    with django_capture_on_commit_callbacks(execute=True):
        close(agent_client, commune, roomy, day)
    job = Job.objects.get()
    # The first batch committed; the second rolled back with its progress, e-mails and history.
    assert (job.status, job.done, job.error_code) == (Job.Status.FAILED, 2, "technical")
    assert job.result == {"removed": 2, "told": 2, "unreached": []}
    assert Reservation.objects.filter(unit=unit, day=day).count() == 3
    assert UnitDay.objects.get(unit=unit, day=day).taken == seats_held(unit, day) == 3
    assert BookingEvent.objects.filter(day=day, action="removed").count() == 2
    assert OutgoingEmail.objects.count() == len(mail.outbox) == 2
    text = text_of(agent_client.get(job_url(commune, job)))
    assert "Interrompu : à reprendre" in text and "Il s'est arrêté après 2 lignes sur 5" in text
    assert "2 familles sur 5 traitées." in text and "2 réservations annulées." in text

    monkeypatch.setitem(jobs.KINDS, services_fermeture.KIND, batches_of(2))
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(job_url(commune, job), {"action": "reprendre"})
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.error_code) == (Job.Status.DONE, 5, 5, "")
    assert job.result == {"removed": 5, "told": 5, "unreached": []}
    assert not Reservation.objects.filter(day=day).exists()
    assert UnitDay.objects.get(unit=unit, day=day).taken == seats_held(unit, day) == 0
    # Each booking removed once, each family e-mailed once.
    removed = BookingEvent.objects.filter(day=day, action="removed")
    assert sorted(removed.values_list("famille_id", flat=True)) == sorted(job.items)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == [f"f{n}@example.fr" for n in range(5)]
    assert OutgoingEmail.objects.count() == 5
    assert AuditEntry.objects.filter(action="activite.fermeture").count() == 1
    text = text_of(agent_client.get(job_url(commune, job)))
    assert "5 familles sur 5 traitées." in text and "5 familles prévenues par courriel." in text


def test_each_batch_takes_the_same_queries_whatever_its_length(
    commune, roomy, day, enfance_agent, django_assert_max_num_queries, monkeypatch
):
    unit = roomy.units.get()

    clicks = []

    def queries(count, *, prefix):
        families(commune, roomy, day, count, prefix=prefix)
        with CaptureQueriesContext(connection) as click:
            job = services_fermeture.start_closing(
                commune=commune, activity=roomy, day=day, reason="Grève", actor=enfance_agent
            )
        clicks.append(len(click.captured_queries))
        with CaptureQueriesContext(connection) as captured:
            jobs.run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.result["removed"]) == (Job.Status.DONE, count)
        assert not Reservation.objects.filter(unit=unit, day=day).exists()
        ActivityClosure.objects.all().delete()
        return len(captured.captured_queries)

    few = queries(2, prefix="A")
    assert queries(12, prefix="B") == few
    # The click costs the same too, whatever the number of families.
    assert clicks[0] == clicks[1]
    families(commune, roomy, day, 40, prefix="C")
    job = services_fermeture.start_closing(
        commune=commune, activity=roomy, day=day, reason="Grève", actor=enfance_agent
    )
    with django_assert_max_num_queries(few):
        jobs.run(job.pk)
    ActivityClosure.objects.all().delete()
    # Two batches of 6: each batch adds the same number, the job's own reads once.
    monkeypatch.setitem(jobs.KINDS, services_fermeture.KIND, batches_of(6))
    two_batches = queries(12, prefix="D")
    assert few < two_batches < 2 * few


def test_a_closure_deleted_meanwhile_stops_the_job_and_keeps_the_rest(
    agent_client, commune, roomy, day, monkeypatch, django_capture_on_commit_callbacks
):
    unit = roomy.units.get()
    families(commune, roomy, day, 4)
    real = services_fermeture.run_batch

    def reopened_after_the_first(job, famille_ids):
        counters = real(job, famille_ids)
        ActivityClosure.objects.all().delete()  # an administrator reopens the day
        return counters

    monkeypatch.setitem(
        jobs.KINDS, services_fermeture.KIND, batches_of(2, reopened_after_the_first)
    )
    with django_capture_on_commit_callbacks(execute=True):
        close(agent_client, commune, roomy, day)
    job = Job.objects.get()
    assert (job.status, job.done, job.error_code) == (Job.Status.FAILED, 2, "reopened")
    assert Reservation.objects.filter(unit=unit, day=day).count() == 2
    text = text_of(agent_client.get(job_url(commune, job)))
    assert "La fermeture de ce jour a été supprimée entre-temps" in text


def test_families_without_an_address_are_named_on_the_jobs_page(
    agent_client, commune, roomy, day, django_capture_on_commit_callbacks
):
    unit = roomy.units.get()
    booked_child(commune, roomy, unit, day, name="SANSMAIL")
    booked_child(commune, roomy, unit, day, name="AVECMAIL", email="avec@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        close(agent_client, commune, roomy, day)
    job = Job.objects.get()
    text = text_of(agent_client.get(job_url(commune, job)))
    assert "1 famille prévenue par courriel." in text
    assert "1 famille n'a pas d'adresse électronique, prévenez-la autrement : SANSMAIL." in text


# --- Who sees the job -----------------------------------------------------------------------------


def test_another_commune_or_service_can_neither_see_nor_resume_the_job(
    client, agent_client, commune, roomy, day
):
    families(commune, roomy, day, 2)
    close(agent_client, commune, roomy, day)  # not committed: the job waits
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error_code="technical")
    assert "Reprendre le traitement" in text_of(agent_client.get(job_url(commune, job)))
    other = CommuneFactory(name="Autreville", slug="autreville")
    intruders = [
        (make_agent(other, AgentRole.Role.ENFANCE), other),
        (make_agent(other, AgentRole.Role.ENFANCE), commune),
        (make_agent(commune, AgentRole.Role.REGIE), commune),
        (make_agent(commune, AgentRole.Role.ENFANCE), commune),  # not the one who started it
    ]
    for agent, where in intruders:
        client.force_login(agent)
        assert client.get(job_url(where, job)).status_code == 404
        assert client.post(job_url(where, job), {"action": "reprendre"}).status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert not AuditEntry.objects.filter(action="travail.repris").exists()
    assert Reservation.objects.filter(day=day).count() == 2
