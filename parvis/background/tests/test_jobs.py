"""parvis.background.jobs, the generic part: a job of an unknown kind stops with the technical
error (not a crash loop), a job already done is not worked again, the results of batches add
up, and the operator reads the jobs in the admin without their rows or parameters."""

import pytest

from parvis.background import jobs
from parvis.background.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting(monkeypatch):
    seen = []

    def run_batch(job, items):
        seen.append(list(items))
        return {
            "even": sum(1 for item in items if item % 2 == 0),
            "odd": [i for i in items if i % 2],
        }

    monkeypatch.setitem(
        jobs.KINDS, "test.counting",
        jobs.JobKind(label="Comptage", run_batch=run_batch, summary=lambda job: [], batch_size=3),
    )  # fmt: skip
    return seen


def test_batches_add_up_and_a_done_job_is_not_worked_again(counting):
    job = jobs.create(
        commune_id=1, actor_id=None, kind="test.counting", items=[1, 2, 3, 4, 5, 6, 7]
    )
    jobs.run(job.pk)
    job.refresh_from_db()
    assert counting == [[1, 2, 3], [4, 5, 6], [7]]
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 7, 7)
    assert job.result == {"even": 3, "odd": [1, 3, 5, 7]}
    assert job.finished_at is not None
    jobs.run(job.pk)
    assert len(counting) == 3
    assert jobs.resume(job=job) is False


def test_a_job_of_an_unknown_kind_stops_with_the_technical_error():
    job = Job.objects.create(commune_id=1, kind="gone.kind", items=[1], total=1)
    jobs.run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.error_code) == (Job.Status.FAILED, 0, "technical")
    assert jobs.error_message(job).startswith("Une erreur technique a arrêté le traitement.")
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.create(commune_id=1, actor_id=None, kind="gone.kind", items=[1])


def test_the_admin_lists_jobs_without_their_rows(admin_client, counting):
    job = jobs.create(
        commune_id=1, actor_id=None, kind="test.counting", items=[424242],
        params={"reason": "Motif confidentiel"},
    )  # fmt: skip
    listing = admin_client.get("/admin/background/job/")
    assert listing.status_code == 200 and "test.counting" in listing.content.decode()
    page = admin_client.get(f"/admin/background/job/{job.pk}/change/").content.decode()
    assert "424242" not in page and "Motif confidentiel" not in page
    assert admin_client.get("/admin/background/job/add/").status_code == 403
