"""The guichet's bulk decisions on the queue (« Accepter / Refuser la sélection ») as a background
job (parvis.background.jobs): the click records the job and returns; a worker decides the ticked
inscriptions or bookings batch by batch through services_instruction (each batch in one
transaction with the job's progress, its audit rows and its e-mails on commit), so a selection of
any length never holds a request. The job's page (the guichet's « Traitement en cours ») follows
it and offers « Reprendre » when its worker died."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy, ngettext

from parvis.accounts.models import User
from parvis.accounts.services_jobs import start_job
from parvis.activities import services_instruction
from parvis.activities.models import Activity
from parvis.activities.services_inscriptions import REASON_MAX_LENGTH
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.models import Commune

KIND = "activities.decisions"
INSCRIPTIONS, BOOKINGS = "inscriptions", "reservations"
ACCEPT, REFUSE = "accepter", "refuser"


@transaction.atomic
def start_decisions(
    *,
    commune: Commune,
    actor: User,
    what: str,
    decision: str,
    ids: list[int],
    activities,
    reason: str = "",
    return_url: str = "",
) -> Job:
    """Queues the decision (`decision` on the `what` among `ids`, of the `activities` the agent
    covers now) as a job; returns it. A refusal needs its reason."""
    if what not in (INSCRIPTIONS, BOOKINGS) or decision not in (ACCEPT, REFUSE):
        raise ValueError("unknown decision")
    reason = reason.strip()[:REASON_MAX_LENGTH]
    if decision == REFUSE and not reason:
        raise ValueError("a refusal needs a reason")
    ids = list(dict.fromkeys(ids))
    job = start_job(
        commune=commune,
        actor=actor,
        kind=KIND,
        items=ids,
        params={
            "what": what,
            "decision": decision,
            "reason": reason,
            "activities": sorted(activities.values_list("pk", flat=True)),
        },
        return_url=return_url,
    )
    return job


def run_batch(job: Job, ids: list[int]) -> dict:
    """One batch of the job, in the job's batch transaction: a constant number of queries for
    the job's own reads (the commune, the agent, the activities) whatever the job's length."""
    params = job.params
    commune = Commune.objects.get(pk=job.commune_id)
    actor = User.objects.filter(pk=job.actor_id).first() if job.actor_id else None
    arguments = {
        "commune": commune,
        "actor": actor,
        "ids": ids,
        "activities": Activity.objects.filter(commune=commune, pk__in=params["activities"]),
    }
    refuse = params["decision"] == REFUSE
    if params["what"] == INSCRIPTIONS:
        write = (
            services_instruction.refuse_inscriptions
            if refuse
            else services_instruction.accept_inscriptions
        )
    else:
        write = (
            services_instruction.refuse_bookings if refuse else services_instruction.accept_bookings
        )
    count = write(**arguments, reason=params["reason"]) if refuse else write(**arguments)
    return {"decided": count, "left": len(ids) - count}


def summary(job: Job) -> list[str]:
    """What the job's page says of the decisions so far, in the reader's language."""
    decided, left = job.result.get("decided", 0), job.result.get("left", 0)
    what, refuse = job.params.get("what"), job.params.get("decision") == REFUSE
    if what == INSCRIPTIONS:
        done = (
            ngettext("%(count)d inscription refusée.", "%(count)d inscriptions refusées.", decided)
            if refuse
            else ngettext(
                "%(count)d inscription acceptée.", "%(count)d inscriptions acceptées.", decided
            )
        )
    elif refuse:
        done = ngettext(
            "%(count)d réservation refusée : la famille est prévenue et la place libérée.",
            "%(count)d réservations refusées : les familles sont prévenues et les places libérées.",
            decided,
        )
    else:
        done = ngettext(
            "%(count)d réservation acceptée.", "%(count)d réservations acceptées.", decided
        )
    lines = [done % {"count": decided}]
    if left:
        lines.append(
            ngettext(
                "%(count)d autre n'était plus en attente : rien n'y a été changé.",
                "%(count)d autres n'étaient plus en attente : rien n'y a été changé.",
                left,
            )
            % {"count": left}
        )
    return lines


JOB_KIND = jobs.JobKind(
    label=gettext_lazy("Décisions sur la file « À valider »"),
    run_batch=run_batch,
    summary=summary,
)
