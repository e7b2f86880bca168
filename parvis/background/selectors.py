"""What the operator reads of the background work (the status endpoint, the admin)."""

from django.db.models import Count, Min, OuterRef, Q, Subquery

from parvis.background.models import Job, OutgoingEmail, PeriodicRun


def last_runs() -> list[PeriodicRun]:
    """The latest run of each periodic job that ever ran, by job name: its host, start, end,
    status (running, succeeded, failed, interrupted) and summary."""
    latest = (
        PeriodicRun.objects.filter(job=OuterRef("job")).order_by("-started_at", "-pk").values("pk")
    )
    return list(PeriodicRun.objects.filter(pk=Subquery(latest[:1])).order_by("job"))


def email_counts() -> dict:
    """Outgoing e-mails per status, and when the oldest still queued was written (None if none)."""
    counts = dict(
        OutgoingEmail.objects.values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    oldest = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED).aggregate(
        at=Min("created_at")
    )["at"]
    return {
        **{status: counts.get(status, 0) for status in OutgoingEmail.Status.values},
        "oldest_queued_at": oldest,
    }


def job_for(*, commune_id: int, actor_id: int, pk: int) -> Job | None:
    """A job of the commune, for the agent who started it (None otherwise: a 404)."""
    return Job.objects.filter(pk=pk, commune_id=commune_id, actor_id=actor_id).first()


def job_counts(*, now, stale_after, failed_since) -> dict:
    """The agents' background jobs that need a look: « stalled » (queued or running without
    progress for `stale_after`: no worker took them, or theirs died) and « failed » (stopped by
    an error since `failed_since`, not resumed). One query."""
    counts = Job.objects.aggregate(
        stalled=Count(
            "pk",
            filter=Q(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
            & Q(progress_at__lt=now - stale_after),
        ),
        failed=Count("pk", filter=Q(status=Job.Status.FAILED, progress_at__gte=failed_since)),
    )
    return {"stalled": counts["stalled"], "failed": counts["failed"]}
