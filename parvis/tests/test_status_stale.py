"""Issue 17 §6: /healthz/status reports the tasks a dead worker left « RUNNING » (django-tasks-db
rows started longer ago than PARVIS_TASK_STALE_AFTER) and the agents' background jobs stalled
or failed, each making the report an error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from parvis import health
from parvis.background import jobs
from parvis.background.models import Job

pytestmark = pytest.mark.django_db


def task(status, started_minutes_ago):
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    return DBTaskResult.objects.create(
        task_path="parvis.tasks.nothing",
        args_kwargs={"args": [], "kwargs": {}},
        queue_name="default",
        backend_name="default",
        status=status,
        run_after=now,
        started_at=now - timedelta(minutes=started_minutes_ago),
    )


def test_a_task_left_running_by_a_dead_worker_is_an_error(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PARVIS_TASK_STALE_AFTER = 3600
    task("RUNNING", 59)  # still at work
    task("SUCCESSFUL", 600)  # done long ago
    result = health.check_task_queue()
    assert (result["status"], result["stale_running"]) == ("ok", 0)
    task("RUNNING", 61)
    result = health.check_task_queue()
    assert (result["status"], result["stale_running"]) == ("error", 1)
    assert health.report()["status"] == "error"


def job(status, progress_minutes_ago):
    return Job.objects.create(
        commune_id=1, kind="activities.decisions", status=status,
        progress_at=timezone.now() - timedelta(minutes=progress_minutes_ago),
    )  # fmt: skip


def test_stalled_and_failed_jobs_are_errors():
    stale = jobs.STALE_AFTER.total_seconds() / 60
    job(Job.Status.RUNNING, stale - 1)  # at work
    job(Job.Status.QUEUED, 1)  # waiting for a worker
    job(Job.Status.DONE, 10)
    job(Job.Status.FAILED, 60 * 25)  # failed more than a day ago: not reported any more
    assert health.check_jobs() == {"status": "ok", "stalled": 0, "failed": 0}
    job(Job.Status.RUNNING, stale + 1)
    job(Job.Status.QUEUED, stale + 1)
    job(Job.Status.FAILED, 60)
    assert health.check_jobs() == {"status": "error", "stalled": 2, "failed": 1}
    report = health.report()
    assert report["jobs"] == {"status": "error", "stalled": 2, "failed": 1}
    assert report["status"] == "error"
