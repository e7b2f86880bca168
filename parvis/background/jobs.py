"""Agents' long work as background jobs (a Job row): bulk decisions, reminders. The invoicing
run's pattern, made generic: the request records the job and queues its task; the task works
through the job's items batch by batch, each batch in one transaction that also moves the
job's progress (done / total), so the job's page follows it; a worker killed midway leaves its
batch rolled back and the job « en cours » without progress: after STALE_AFTER it offers
« Reprendre », which queues the task again from the first item not done. An error stops the job
with a code and its values (ERRORS, or the kind's own), shown in the reader's language.

This app sits below the domain apps: they register what a batch does, from their
AppConfig.ready() (`register`), and start their jobs through their own services, which write the
audit rows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from parvis.background.models import Job

logger = logging.getLogger(__name__)

# No progress for that long while « en cours »: its worker died (a batch takes about a second; a
# queued job waits behind other tasks a few minutes at most).
STALE_AFTER = timedelta(minutes=5)
BATCH_SIZE = 50


class JobError(Exception):
    """Raised by a batch to stop the job with a message the agent can act on: `code` names it
    among ERRORS or the kind's `errors`, `params` fill it in. The batch is rolled back."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code, self.params = code, params


# The messages of the stopped jobs, by code; a kind adds its own (JobKind.errors).
ERRORS = {
    "technical": _(
        "Une erreur technique a arrêté le traitement. Reprenez-le ; si l'erreur revient, "
        "prévenez l'exploitant."
    ),
    "interrupted": _(
        "Le traitement s'est arrêté sans finir (le serveur a redémarré) : reprenez-le."
    ),
}


@dataclass(frozen=True)
class JobKind:
    """What a kind of job is: its name for the agent, what one batch does, how its result reads.

    `run_batch(job, items)` works on `items` (a slice of job.items) inside the batch's
    transaction and returns counters (int, added up) or lists (of ids, joined) for job.result.
    `summary(job)` returns the sentences the job's page shows of its result, in the reader's
    language (it runs when the page is drawn)."""

    label: str
    run_batch: Callable[[Job, list], dict]
    summary: Callable[[Job], list[str]]
    errors: dict = field(default_factory=dict)
    batch_size: int = BATCH_SIZE


KINDS: dict[str, JobKind] = {}


# What a job's batches run inside, given its commune's id: parvis.communes sets it from its
# apps.py to the current-commune scope (communes.tenancy), so that each query of a batch says
# its commune_id (this app sits below parvis.communes and cannot import it).
def commune_scope(commune_id: int) -> AbstractContextManager:
    return nullcontext()


def register(kind: str, job_kind: JobKind) -> None:
    KINDS[kind] = job_kind


def create(
    *,
    commune_id: int,
    actor_id: int | None,
    kind: str,
    items: list,
    params: dict | None = None,
    return_url: str = "",
) -> Job:
    """Records a job and queues its task once the caller's transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job.objects.create(
        commune_id=commune_id,
        actor_id=actor_id,
        kind=kind,
        items=list(items),
        params=params or {},
        total=len(items),
        return_url=return_url[:500],
        progress_at=timezone.now(),
    )
    _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    job_id, commune_id = job.pk, job.commune_id
    transaction.on_commit(lambda: run_job_task.enqueue(job_id=job_id, commune_id=commune_id))


def is_running(job: Job, *, now=None) -> bool:
    """A task is (or should soon be) at work on the job: queued or « en cours », with some
    progress less than STALE_AFTER ago. A job neither running nor done is to resume."""
    now = now or timezone.now()
    return (
        job.status in (Job.Status.QUEUED, Job.Status.RUNNING)
        and job.progress_at is not None
        and now - job.progress_at < STALE_AFTER
    )


def can_resume(job: Job, *, now=None) -> bool:
    return job.status != Job.Status.DONE and not is_running(job, now=now)


@transaction.atomic
def resume(*, job: Job) -> bool:
    """« Reprendre »: queues the job's task again from its first item not done. False (nothing
    queued) when it is done or a task is at work on it (a second click: the row is locked)."""
    rows = Job.objects.filter(commune_id=job.commune_id, pk=job.pk)  # its commune's (Citus)
    job = rows.select_for_update().get()
    if not can_resume(job):
        return False
    job.status, job.error_code, job.error_params = Job.Status.QUEUED, "", {}
    job.progress_at = timezone.now()
    rows.update(status=job.status, error_code="", error_params={}, progress_at=job.progress_at)
    _enqueue(job)
    return True


def error_message(job: Job) -> str:
    """Why the job stopped, in the active language; « » when it did not. A job found without
    progress for STALE_AFTER says its worker died."""
    if job.error_code:
        kind = KINDS.get(job.kind)
        template = (kind.errors if kind else {}).get(job.error_code) or ERRORS.get(
            job.error_code, ERRORS["technical"]
        )
        try:
            return str(template) % job.error_params if job.error_params else str(template)
        except (KeyError, TypeError, ValueError):
            return str(template)
    if can_resume(job):
        return str(ERRORS["interrupted"])
    return ""


def label(job: Job) -> str:
    kind = KINDS.get(job.kind)
    return str(kind.label) if kind else job.kind


def summary(job: Job) -> list[str]:
    """What the job did so far, in the active language (nothing before its first batch)."""
    kind = KINDS.get(job.kind)
    return [str(line) for line in kind.summary(job)] if kind and job.done else []


def _merge(result: dict, counters: dict) -> dict:
    merged = dict(result)
    for key, value in counters.items():
        if isinstance(value, list):
            merged[key] = [*merged.get(key, []), *value]
        else:
            merged[key] = merged.get(key, 0) + value
    return merged


def run(job_id: int, commune_id: int | None = None) -> Job | None:
    """Works through the job from its first item not done, batch by batch (each batch and its
    progress in one transaction). Two tasks on one job (a resume while the first was only slow)
    never work the same batch: the job's row is locked and its progress read again first.

    Every query is the job's commune's (issue 18 §2): the job's own rows say `commune_id` by hand
    (this table has no scoped manager), the batches run in `commune_scope`. A task queued
    without `commune_id` (before it was passed) reads it first."""
    if commune_id is None:
        commune_id = Job.objects.filter(pk=job_id).values_list("commune_id", flat=True).first()
        if commune_id is None:
            return None
    with commune_scope(commune_id):
        return _run(job_id, Job.objects.filter(commune_id=commune_id, pk=job_id))


def _run(job_id: int, rows) -> Job | None:
    job = rows.first()
    if job is None or job.status == Job.Status.DONE:
        return job
    kind = KINDS.get(job.kind)
    rows.update(
        status=Job.Status.RUNNING, progress_at=timezone.now(), error_code="", error_params={}
    )
    try:
        while True:
            with transaction.atomic():
                job = rows.select_for_update().get()
                if job.done >= job.total or job.status != Job.Status.RUNNING:
                    break
                if kind is None:
                    raise JobError("technical")
                batch = job.items[job.done : job.done + kind.batch_size]
                counters = kind.run_batch(job, batch)
                job.result = _merge(job.result, counters or {})
                job.done += len(batch)
                job.progress_at = timezone.now()
                rows.update(result=job.result, done=job.done, progress_at=job.progress_at)
    except JobError as error:
        _stop(rows, error.code, error.params)
        return rows.get()
    except Exception:
        logger.exception("Background job %s (%s) stopped", job_id, job.kind)
        _stop(rows, "technical", {})
        raise
    now = timezone.now()
    rows.filter(status=Job.Status.RUNNING).update(
        status=Job.Status.DONE, finished_at=now, progress_at=now
    )
    return rows.get()


def _stop(rows, code: str, params: dict) -> None:
    rows.update(
        status=Job.Status.FAILED, error_code=code, error_params=params, progress_at=timezone.now()
    )


@task(priority=5)
def run_job_task(*, job_id: int, commune_id: int | None = None) -> dict:
    """The background task of a job (queued by `create` and `resume`, with its commune)."""
    job = run(job_id, commune_id)
    if job is None:
        return {"done": 0}
    return {"done": job.done, "total": job.total, "status": job.status}
