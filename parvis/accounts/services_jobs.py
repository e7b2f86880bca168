"""The agents' writes on background jobs (parvis.background.jobs) that no domain app owns:
« Reprendre » a job that stopped, with its audit row. A job is started by its domain app's
service (e.g. activities.services_decisions), which audits it. It lives here, not in
parvis.background (which sits below this app and cannot write the audit row) nor in the guichet
shell (which writes nothing)."""

from __future__ import annotations

from django.db import transaction

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.models import Commune


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
