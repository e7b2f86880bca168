"""The agents' writes on background jobs (parvis.background.jobs) that no domain app owns:
starting a job (`start_job`, called by the domain app's service that owns the kind, e.g.
activities.services_decisions) and « Reprendre » a job that stopped, each with its audit row.
It lives here, not in
parvis.background (which sits below this app and cannot write the audit row) nor in the guichet
shell (which writes nothing)."""

from __future__ import annotations

from django.db import transaction

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.models import Commune


def start_job(
    *, commune: Commune, actor: User, kind: str, items: list, params=None, return_url: str = ""
) -> Job:
    """Records a job over `items` and its audit row (`travail.lance`), in the caller's
    transaction; the job is queued on commit."""
    job = jobs.create(
        commune_id=commune.pk,
        actor_id=actor.pk,
        kind=kind,
        items=items,
        params=params,
        return_url=return_url,
    )
    audit(
        actor=actor,
        action="travail.lance",
        commune=commune,
        target=job,
        changes={"status": [None, job.status], "items": [None, len(items)]},
    )
    return job


@transaction.atomic
def resume_job(*, commune: Commune, job: Job, actor: User) -> bool:
    """Queues the job again from its first item not done; False when it is done or still at
    work (nothing written)."""
    before = job.status
    if not jobs.resume(job=job):
        return False
    audit(
        actor=actor,
        action="travail.repris",
        commune=commune,
        target=job,
        changes={"status": [before, Job.Status.QUEUED], "done": [None, job.done]},
    )
    return True
