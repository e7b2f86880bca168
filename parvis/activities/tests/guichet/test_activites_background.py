"""Issue 17 §4: the queue's bulk decisions are a background job (parvis.background.jobs): no cap
on the ticked rows (it was one page, 50), the click returns at once to the job's page, which
follows the progress (done / total) without JavaScript and says what was decided; the job works
in batches with a constant number of queries each; a job stopped by an error or by its worker's
death offers « Reprendre », which finishes it without deciding anything twice."""

# ruff: noqa: F811 (the fixtures imported from test_activites_queue)

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import services_decisions
from parvis.activities.models import BookingStatus, InscriptionStatus, Reservation
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.guichet.test_activites_queue import (  # noqa: F401 (fixtures)
    activity,
    book,
    day,
    family_child,
    filed,
    url,
)
from parvis.background import jobs
from parvis.background.models import Job
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


def job_url(commune, job):
    return reverse("backoffice:travail", kwargs={"commune": commune.slug, "pk": job.pk})


@pytest.fixture
def roomy(commune, day):
    """An activity decided by an agent, with room for everyone."""
    return make_activity(
        commune, slug="vacances", name="Accueil des vacances", needs_instruction=True,
        start=timezone.localdate(), end=day + timedelta(days=300), capacity=None,
    )  # fmt: skip


def pending_bookings(commune, activity, day, count):
    unit = activity.units.get()
    rows = []
    for index in range(count):
        child, _user = family_child(commune, f"FAMILLE{index}")
        register(child, activity)
        rows.append(book(child, activity, unit, day))
    assert {row.status for row in rows} == {BookingStatus.EN_ATTENTE}
    return rows


def test_more_than_a_page_is_decided_in_batches_and_the_page_says_it(
    agent_client, commune, activity, django_capture_on_commit_callbacks
):
    inscription = filed(commune, activity)
    # 61 ids ticked (the old cap was 50): one pending, the others no longer pending.
    ids = [inscription.pk, *range(10**6, 10**6 + 60)]
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(url("valider_inscriptions", commune), {"ids": ids})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == job_url(commune, job)
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 61, 61)
    assert job.result == {"decided": 1, "left": 60}
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.ACCEPTEE
    started = AuditEntry.objects.get(action="travail.lance")
    assert started.changes["items"] == [None, 61]

    page = agent_client.get(response.url)
    text = text_of(page)
    assert "Refresh" not in page  # done: the page no longer reloads itself
    assert "61 lignes sur 61 traitées" in text
    assert "1 inscription acceptée." in text
    assert "60 autres n'étaient plus en attente : rien n'y a été changé." in text
    assert "Reprendre" not in text
    # Its « Retour » goes back to the queue.
    assert url("a_valider", commune) in page.content.decode()


def test_a_refusal_in_the_background_keeps_its_reason(
    agent_client, commune, activity, django_capture_on_commit_callbacks
):
    inscription = filed(commune, activity)
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(
            url("refuser_inscriptions", commune),
            {"ids": [inscription.pk], "inscriptions-motif": "Plus de place."},
        )
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.REFUSEE
    job = Job.objects.get()
    assert job.params["reason"] == "Plus de place."
    assert "1 inscription refusée." in text_of(agent_client.get(job_url(commune, job)))


def test_a_running_job_reloads_its_page_until_asked_not_to(agent_client, commune, activity):
    inscription = filed(commune, activity)
    # Without the commit (a worker yet to take it), the job waits.
    response = agent_client.post(url("valider_inscriptions", commune), {"ids": [inscription.pk]})
    job = Job.objects.get()
    page = agent_client.get(response.url)
    assert page["Refresh"] == "3"
    text = text_of(page)
    assert "0 ligne sur 1 traitée" in text and "Arrêter l'actualisation" in text
    assert "acceptée" not in text  # nothing decided yet, nothing said
    assert 'role="status"' in page.content.decode()
    quiet = agent_client.get(response.url + "?suivi=non")
    assert "Refresh" not in quiet and "Actualiser la page" in text_of(quiet)
    assert "Reprendre" not in text  # still fresh: not to resume yet
    # Nothing decided before the worker takes it.
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.EN_ATTENTE
    assert job.status == Job.Status.QUEUED


def test_only_the_agent_who_started_a_job_sees_it(client, agent_client, commune, activity):
    inscription = filed(commune, activity)
    agent_client.post(url("valider_inscriptions", commune), {"ids": [inscription.pk]})
    job = Job.objects.get()
    client.force_login(make_agent(commune, AgentRole.Role.ENFANCE))
    assert client.get(job_url(commune, job)).status_code == 404
    assert client.post(job_url(commune, job), {"action": "reprendre"}).status_code == 404


def test_each_batch_takes_the_same_queries_whatever_its_length(
    commune, roomy, day, enfance_agent, django_assert_max_num_queries, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count):
        rows = pending_bookings(commune, roomy, day, count)
        job = services_decisions.start_decisions(
            commune=commune, actor=enfance_agent, what="reservations", decision="accepter",
            ids=[row.pk for row in rows], activities=roomy.__class__.objects.filter(pk=roomy.pk),
        )  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            jobs.run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.result["decided"]) == (Job.Status.DONE, count)
        Reservation.objects.filter(pk__in=[row.pk for row in rows]).delete()
        return len(captured.captured_queries)

    few = queries(2)
    assert queries(12) == few
    # Two batches of 6: each batch adds the same number, the job's own reads once.
    monkeypatch.setitem(
        jobs.KINDS,
        services_decisions.KIND,
        jobs.JobKind(
            label="x",
            run_batch=services_decisions.run_batch,
            summary=services_decisions.summary,
            batch_size=6,
        ),
    )
    two_batches = queries(12)
    assert few < two_batches < 2 * few


def test_a_job_stopped_by_an_error_is_resumed_without_deciding_twice(
    agent_client, commune, roomy, day, monkeypatch, django_capture_on_commit_callbacks
):
    rows = pending_bookings(commune, roomy, day, 5)
    real, calls = services_decisions.run_batch, []

    def stop_in_the_second_batch(job, ids):
        calls.append(ids)
        counters = real(job, ids)
        if len(calls) == 2:
            raise RuntimeError("the worker stops")  # inside the batch's transaction
        return counters

    small = jobs.JobKind(
        label="x", run_batch=stop_in_the_second_batch, summary=services_decisions.summary,
        batch_size=2,
    )  # fmt: skip
    monkeypatch.setitem(jobs.KINDS, services_decisions.KIND, small)
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(url("valider_reservations", commune), {"ids": [r.pk for r in rows]})
    job = Job.objects.get()
    # The first batch committed, the second rolled back with its progress.
    assert (job.status, job.done, job.error_code) == (Job.Status.FAILED, 2, "technical")
    statuses = [Reservation.objects.get(pk=r.pk).status for r in rows]
    assert statuses == [BookingStatus.RESERVEE] * 2 + [BookingStatus.EN_ATTENTE] * 3
    text = text_of(agent_client.get(job_url(commune, job)))
    assert "Interrompu : à reprendre" in text
    assert "Une erreur technique a arrêté le traitement." in text
    assert "Il s'est arrêté après 2 lignes sur 5" in text

    monkeypatch.setitem(
        jobs.KINDS, services_decisions.KIND, jobs.JobKind(
            label="x", run_batch=real, summary=services_decisions.summary, batch_size=2
        ),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(job_url(commune, job), {"action": "reprendre"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.done, job.error_code) == (Job.Status.DONE, 5, "")
    assert job.result == {"decided": 5, "left": 0}
    assert {Reservation.objects.get(pk=r.pk).status for r in rows} == {BookingStatus.RESERVEE}
    assert AuditEntry.objects.filter(action="reservation.accept").count() == 5
    resumed = AuditEntry.objects.get(action="travail.repris")
    assert resumed.changes == {"status": ["failed", "queued"], "done": [None, 2]}
    # Resuming a finished job does nothing.
    with django_capture_on_commit_callbacks() as queued:
        again = agent_client.post(job_url(commune, job), {"action": "reprendre"}, follow=True)
    assert queued == []
    assert "Ce traitement n'est pas arrêté : rien à reprendre." in text_of(again)


def test_a_job_whose_worker_died_offers_to_resume_after_a_while(agent_client, commune, activity):
    inscription = filed(commune, activity)
    agent_client.post(url("valider_inscriptions", commune), {"ids": [inscription.pk]})
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    # Four minutes without progress: still at work.
    Job.objects.filter(pk=job.pk).update(progress_at=timezone.now() - timedelta(minutes=4))
    assert "Reprendre" not in text_of(agent_client.get(job_url(commune, job)))
    # Past STALE_AFTER: its worker died.
    Job.objects.filter(pk=job.pk).update(
        progress_at=timezone.now() - jobs.STALE_AFTER - timedelta(seconds=1)
    )
    page = agent_client.get(job_url(commune, job))
    assert "Refresh" not in page
    text = text_of(page)
    assert "Le traitement s'est arrêté sans finir (le serveur a redémarré) : reprenez-le." in text
    assert "Reprendre le traitement" in text


def test_a_jobs_error_is_stored_as_a_code_and_read_in_the_readers_language():
    job = Job(commune_id=1, kind=services_decisions.KIND, error_code="technical")
    with translation.override("fr"):
        assert jobs.error_message(job).startswith("Une erreur technique a arrêté le traitement.")
    # A kind's own message, with its values filled in when read.
    kind = jobs.JobKind(
        label="x", run_batch=lambda job, ids: {}, summary=lambda job: [],
        errors={"quota": "Limite de %(max)s atteinte."},
    )  # fmt: skip
    jobs.register("test.quota", kind)
    try:
        job = Job(commune_id=1, kind="test.quota", error_code="quota", error_params={"max": 3})
        assert jobs.error_message(job) == "Limite de 3 atteinte."
    finally:
        del jobs.KINDS["test.quota"]
