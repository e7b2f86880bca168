"""Periodic jobs that every host may start at the same minute: each takes a PostgreSQL advisory
lock named after the job, so one host runs it and the others log « already running elsewhere »
and exit 0; each run is recorded (PeriodicRun: host, start, end, status, summary), failures too.

On SQLite (one host, development) there is no lock: the run is only recorded.

The lock stops runs that overlap. Two hosts' timers fire at the same second, but the second host
may take its lock a second later, after the first has finished a job of a few milliseconds: so a
job that ran (or is running) less than PARVIS_PERIODIC_MIN_INTERVAL seconds ago is not run again
(AlreadyDone, nothing recorded). A failed or interrupted run does not count.

The lock is a session-level one (pg_try_advisory_lock) on the command's own connection, released
at the end, or by PostgreSQL when the process dies. Behind a pooler in transaction mode
(PgBouncer) such a lock is not held reliably: connect the periodic commands directly."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from parvis.background.models import PeriodicRun

logger = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    """Another host (or process) holds the job's lock."""


class AlreadyDone(AlreadyRunning):
    """Another host ran the job moments ago (within PARVIS_PERIODIC_MIN_INTERVAL)."""


def lock_key(job: str) -> int:
    # A stable signed 64-bit key (Python's hash() changes between processes).
    return int.from_bytes(
        hashlib.sha256(f"parvis.periodic:{job}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def _advisory_lock(job: str) -> Iterator[bool]:
    """Yields whether a real lock is held (False on SQLite); raises AlreadyRunning."""
    if connection.vendor != "postgresql":
        yield False
        return
    key = lock_key(job)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise AlreadyRunning(job)
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def periodic_run(job: str) -> Iterator[PeriodicRun]:
    """Runs the body as `job` under its lock and records it; the body may set `run.summary`.
    Raises AlreadyRunning (nothing recorded) when another host runs it now."""
    with _advisory_lock(job) as locked:
        if locked:
            # Holding the lock, any run still « running » is one whose process died.
            PeriodicRun.objects.filter(job=job, status=PeriodicRun.Status.RUNNING).update(
                status=PeriodicRun.Status.INTERRUPTED, finished_at=timezone.now()
            )
        interval = settings.PARVIS_PERIODIC_MIN_INTERVAL
        if (
            interval
            and PeriodicRun.objects.filter(
                job=job,
                status=PeriodicRun.Status.SUCCEEDED,
                started_at__gt=timezone.now() - timedelta(seconds=interval),
            ).exists()
        ):
            raise AlreadyDone(job)
        run = PeriodicRun.objects.create(
            job=job, host=socket.gethostname(), pid=os.getpid(), started_at=timezone.now()
        )
        try:
            yield run
        except BaseException as error:
            run.status = PeriodicRun.Status.FAILED
            run.summary = "\n".join(filter(None, [run.summary, f"{type(error).__name__}: {error}"]))
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "summary", "finished_at"])
            # At ERROR: it reaches the operator (ADMINS, error reporting).
            logger.error("Periodic job %s failed on %s: %s", job, run.host, run.summary)
            raise
        run.status = PeriodicRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "summary", "finished_at"])


def already_running_message(job: str) -> str:
    return f"{job} : déjà en cours sur une autre machine, rien à faire ici."


def already_done_message(job: str) -> str:
    return f"{job} : vient d'être fait sur une autre machine, rien à faire ici."


class PeriodicCommand(BaseCommand):
    """A periodic command: `run()` does the work and returns its summary (one line or more),
    written to stdout and to the run's record. The job's name is the command's."""

    job: str = ""

    def run(self, *args, **options) -> str:
        raise NotImplementedError

    def handle(self, *args, **options):
        job = self.job or self.__module__.rsplit(".", 1)[-1]
        try:
            with periodic_run(job) as record:
                record.summary = self.run(*args, **options) or ""
        except AlreadyDone:
            logger.info("Periodic job %s just ran elsewhere: skipped", job)
            self.stdout.write(already_done_message(job))
            return
        except AlreadyRunning:
            logger.info("Periodic job %s already running elsewhere: skipped", job)
            self.stdout.write(already_running_message(job))
            return
        if record.summary:
            self.stdout.write(record.summary)
