"""The operator's status report (/healthz/status): the database, each file storage, the task
queue's age and its tasks left running by a dead worker, the e-mails waiting or failed, the
agents' background jobs stalled or failed, and the last run of each periodic job. Each check
catches its own failure, so that the report says what is down instead of answering 500."""

import contextlib
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import DatabaseError, connection
from django.utils import timezone

from parvis.background import jobs as background_jobs
from parvis.background import selectors as background
from parvis.background.models import PeriodicRun

# The jobs the timers start (README « Periodic commands », deploy/systemd/*.timer).
PERIODIC_COMMANDS = (
    "purge_attempts",
    "prune_db_task_results",
    "clearsessions",
    "purge_emails",
    "resend_emails",
    "purge_drafts",
    "expire_offers",
    "send_booking_reminders",
    "send_penalty_warnings",
    "run_invoicing",
    "send_plan_reminders",
    "settle_direct_debits",
    "apply_retention",
)
# A last run in one of these states makes the report an error (the job needs a look).
FAILED_RUNS = {PeriodicRun.Status.FAILED, PeriodicRun.Status.INTERRUPTED}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def check_database() -> dict:
    start = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"status": "error", "error": error.__class__.__name__}
    return {"status": "ok", "vendor": connection.vendor, "latency_ms": _ms(start)}


PROBE_CONTENT = b"parvis status probe\n"


def check_storage(alias: str) -> dict:
    """Writes, reads back and deletes a small probe file, as an upload and a download would."""
    storage = storages[alias]
    result = {"backend": f"{storage.__class__.__module__}.{storage.__class__.__name__}"}
    start = time.perf_counter()
    name = None
    try:
        name = storage.save(
            f"parvis-status/probe-{uuid.uuid4().hex}.txt", ContentFile(PROBE_CONTENT)
        )
        with storage.open(name, "rb") as probe:
            read_back = probe.read()
        if read_back != PROBE_CONTENT:
            return {**result, "status": "error", "error": "contenu relu différent"}
    except Exception as error:  # any backend's failure is the report's subject
        return {**result, "status": "error", "error": error.__class__.__name__}
    finally:
        if name is not None:
            # A failed write or read is already the report's subject.
            with contextlib.suppress(Exception):
                storage.delete(name)
    return {**result, "status": "ok", "latency_ms": _ms(start)}


def check_storages() -> dict:
    # The static files are read-only once collected (WhiteNoise serves them from disk).
    return {alias: check_storage(alias) for alias in settings.STORAGES if alias != "staticfiles"}


def check_task_queue(now: datetime | None = None) -> dict:
    """Tasks waiting in the database (django-tasks-db): how many, and the age of the oldest one
    that could run now (a growing age means no worker is running or they cannot keep up)."""
    backend = settings.TASKS["default"]["BACKEND"]
    if backend != "django_tasks_db.DatabaseBackend":
        return {"status": "ok", "backend": backend, "waiting": 0, "oldest_waiting_age_s": None}
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.PARVIS_TASK_STALE_AFTER)
    try:
        ready = DBTaskResult.objects.ready()
        waiting = ready.count()
        oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
        failed = DBTaskResult.objects.failed().count()
        # django-tasks-db leaves a task « RUNNING » for ever when its worker dies (killed, machine
        # down): one started longer ago than PARVIS_TASK_STALE_AFTER is reported.
        stale = DBTaskResult.objects.running().filter(started_at__lt=now - stale_after).count()
    except DatabaseError as error:
        return {"status": "error", "backend": backend, "error": error.__class__.__name__}
    return {
        "status": "error" if stale else "ok",
        "backend": backend,
        "waiting": waiting,
        "oldest_waiting_age_s": None if oldest is None else round((now - oldest).total_seconds()),
        "failed": failed,
        "stale_running": stale,
    }


# Failed jobs are reported for a day: the agent who started one resumes it from its page.
FAILED_JOBS_WINDOW = timedelta(days=1)


def check_jobs(now: datetime | None = None) -> dict:
    """The agents' background jobs (bulk decisions, reminders: parvis.background.jobs) stalled
    (no progress for jobs.STALE_AFTER: their worker died, or none runs) or stopped by an error
    in the last day: either makes the report an error."""
    now = now or timezone.now()
    try:
        counts = background.job_counts(
            now=now, stale_after=background_jobs.STALE_AFTER, failed_since=now - FAILED_JOBS_WINDOW
        )
    except DatabaseError as error:
        return {"status": "error", "error": error.__class__.__name__}
    return {"status": "error" if any(counts.values()) else "ok", **counts}


def check_email_queue(now: datetime | None = None) -> dict:
    """The e-mails leaving through the queue (parvis.background): how many wait and since when,
    how many failed for good (visible here until purge_emails forgets them)."""
    now = now or timezone.now()
    try:
        counts = background.email_counts()
    except DatabaseError as error:
        return {"status": "error", "error": error.__class__.__name__}
    oldest = counts.pop("oldest_queued_at")
    return {
        "status": "ok",
        **counts,
        "oldest_queued_age_s": None if oldest is None else round((now - oldest).total_seconds()),
    }


def periodic_runs() -> dict:
    """The last run of each job (None: never ran here); an error when one's last run failed or
    was interrupted."""
    try:
        runs = {run.job: run for run in background.last_runs()}
    except DatabaseError as error:
        return {"status": "error", "error": error.__class__.__name__}
    jobs = {}
    for command in PERIODIC_COMMANDS:
        run = runs.get(command)
        jobs[command] = (
            None
            if run is None
            else {
                "status": run.status,
                "host": run.host,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "summary": run.summary[:500],
            }
        )
    failed = any(job and job["status"] in FAILED_RUNS for job in jobs.values())
    return {"status": "error" if failed else "ok", "jobs": jobs}


def report() -> dict:
    checks = {
        "database": check_database(),
        "storage": check_storages(),
        "task_queue": check_task_queue(),
        "email": check_email_queue(),
        "jobs": check_jobs(),
        "periodic_jobs": periodic_runs(),
    }
    statuses = [checks[name]["status"] for name in ("database", "task_queue", "email", "jobs")]
    statuses += [storage["status"] for storage in checks["storage"].values()]
    statuses.append(checks["periodic_jobs"]["status"])
    return {
        "status": "error" if "error" in statuses else "ok",
        "checked_at": timezone.now().isoformat(timespec="seconds"),
        **checks,
    }
