"""The guichet's « Fermer un jour » as a background job (parvis.background.jobs), issue 17 §4: the
click closes the day and records the job in one transaction (the closure, its audit row, the
families booked that day, « travail.lance »), so nobody can book the day any more from that
moment; a worker then removes the families' bookings of that day batch by batch, exactly as
services_instruction.close_day removes them all at once (each booking removed with its history,
its seat given back, one e-mail per family and activity), each batch in one transaction with the
job's progress (families done / total) and its e-mail rows, so a worker killed midway leaves
every finished batch done and nothing half-done, and « Reprendre » goes on from the first family
not done without removing or writing anything twice.

The rows are scoped when the job starts: the activity the agent covers (the guichet's selectors),
its units, the families of the commune booked that day (nobody can add one after: the day is
closed). A family that cancels a booking in between is fine: its batch removes what is left.
The worker does not ask again whether the agent may close the day: the closure was decided and
audited at the click; what follows is its consequence."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.accounts.services_jobs import start_job
from parvis.activities import reservations
from parvis.activities.models import Activity, ActivityClosure, Reservation, Unit
from parvis.activities.services_instruction import (
    AlreadyClosed as AlreadyClosed,  # the guichet's form says it next to the day
)
from parvis.activities.services_instruction import (
    closure_audit,
    closure_notices,
    lock_day_bookings,
    open_closure,
    send_closure_notices,
)
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.models import Commune
from parvis.families.models import Famille

KIND = "activities.fermeture"


@transaction.atomic
def start_closing(
    *,
    commune: Commune,
    activity: Activity,
    day: date,
    reason: str,
    actor: User,
    return_url: str = "",
) -> Job | None:
    """Closes `activity` (one the agent covers) on `day`: the closure and its audit row now, the
    bookings' removal as a job over the families booked that day, returned (None when nobody
    is booked: nothing left to do). AlreadyClosed, nothing written, when it is closed already;
    the job of the closure written meanwhile by a click at the same moment, nothing written."""
    closure, units, opened = open_closure(
        commune=commune, activity=activity, day=day, reason=reason, actor=actor
    )
    if not opened:
        # Another click closed it at the same moment: its job (if anybody was booked) is this one.
        return (
            Job.objects.filter(commune_id=commune.pk, kind=KIND, params__closure=closure.pk)
            .order_by("pk")
            .first()
        )
    # Read under the seat counters open_closure holds: a basket validated before the closure is
    # seen here, one validated after it sees the day closed.
    booked = Reservation.objects.filter(commune=commune, unit__in=units, day=day)
    families = sorted(set(booked.values_list("famille_id", flat=True)))
    audit(actor=actor, **closure_audit(closure, removed=booked.count(), families=len(families)))
    if not families:
        return None
    job = start_job(
        commune=commune,
        actor=actor,
        kind=KIND,
        items=families,
        params={
            "closure": closure.pk,
            "activity": activity.pk,
            "units": [unit.pk for unit in units],
            "day": day.isoformat(),
            "reason": reason,
        },
        return_url=return_url,
    )
    return job


def run_batch(job: Job, famille_ids: list[int]) -> dict:
    """One batch of families, in the job's batch transaction: their bookings of the day removed
    (history, seats freed and offered to nobody: the waiting families go too), their e-mails
    written with the batch. A constant number of queries whatever the batch's length. Stops the
    job (JobError « reopened », nothing more removed) when the closure was deleted meanwhile."""
    params = job.params
    closure = (
        ActivityClosure.objects.select_related("commune", "activity")
        .filter(commune_id=job.commune_id, pk=params["closure"])
        .first()
    )
    if closure is None:
        raise jobs.JobError("reopened")
    units = list(Unit.objects.filter(activity__commune_id=job.commune_id, pk__in=params["units"]))
    day = closure.day
    reservations.lock_counters((unit.pk, day) for unit in units if unit.seats is not None)
    bookings = lock_day_bookings(units=units, day=day, famille_ids=famille_ids)
    actor = User.objects.filter(pk=job.actor_id).first() if job.actor_id else None
    reservations.move(
        [reservations.Move(r, None, "removed") for r in bookings],
        actor=actor,
        now=timezone.now(),
        offer_seats=False,
    )
    # Written in the batch's transaction (sent once it commits): a batch rolled back writes none,
    # a batch done is never written again.
    unreached: set[int] = set()
    for closed, rows in closure_notices(bookings).items():
        unreached |= send_closure_notices(closure=closure, activity=closed, notices=rows)
    told = {r.famille_id for r in bookings} - unreached
    return {"removed": len(bookings), "told": len(told), "unreached": sorted(unreached)}


def summary(job: Job) -> list[str]:
    """What the job's page says of the closing so far, in the reader's language (two queries)."""
    params, result = job.params, job.result
    activity = Activity.objects.filter(commune_id=job.commune_id, pk=params.get("activity")).first()
    done, removed, told = min(job.done, job.total), result.get("removed", 0), result.get("told", 0)
    lines = [
        gettext("%(activity)s fermé le %(day)s, motif : « %(reason)s ».")
        % {
            "activity": activity.name if activity else "",
            "day": date.fromisoformat(params["day"]).strftime("%d/%m/%Y"),
            "reason": params.get("reason", ""),
        },
        ngettext(
            "%(done)d famille sur %(total)d traitée.",
            "%(done)d familles sur %(total)d traitées.",
            done,
        )
        % {"done": done, "total": job.total},
        ngettext("%(count)d réservation annulée.", "%(count)d réservations annulées.", removed)
        % {"count": removed},
        ngettext(
            "%(count)d famille prévenue par courriel.",
            "%(count)d familles prévenues par courriel.",
            told,
        )
        % {"count": told},
    ]
    unreached = result.get("unreached", [])
    if unreached:
        names = Famille.objects.filter(commune_id=job.commune_id, pk__in=unreached).order_by(
            "name", "pk"
        )
        lines.append(
            ngettext(
                "%(count)d famille n'a pas d'adresse électronique, prévenez-la autrement : "
                "%(names)s.",
                "%(count)d familles n'ont pas d'adresse électronique, prévenez-les autrement : "
                "%(names)s.",
                len(unreached),
            )
            % {"count": len(unreached), "names": ", ".join(f.name for f in names)}
        )
    return lines


JOB_KIND = jobs.JobKind(
    label=gettext_lazy("Fermeture d'un jour : réservations annulées, familles prévenues"),
    run_batch=run_batch,
    summary=summary,
    errors={
        "reopened": gettext_lazy(
            "La fermeture de ce jour a été supprimée entre-temps : les réservations qui "
            "restaient sont gardées, rien d'autre n'a été annulé."
        )
    },
)
