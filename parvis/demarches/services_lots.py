"""The guichet's batch actions on requests (« Prendre en charge », « Accepter », « Classer sans
suite » the ticked demandes) and on documents (« Valider la sélection ») as background jobs
(parvis.background.jobs), issue 17 §4: the click records the job and returns to its page; a worker
works through the ticked rows batch by batch, each row through the same service as one by one
(parvis.demarches.services, services_dossier: their audit rows, events and e-mails on commit), each
batch in one transaction with the job's progress. No cap on the selection.

The rows are those the agent may see when the job starts (the guichet's selectors scope them, as
the activities' jobs keep the activities the agent covers then): another commune's, another
service's or unknown ones are not in the job, and its page says so; a worker works only on the
commune's rows, for an agent still an agent of it."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext, gettext_lazy, ngettext

from parvis.accounts.agents import agent_of
from parvis.accounts.models import User
from parvis.accounts.services_jobs import start_job
from parvis.background import jobs
from parvis.background.models import Job
from parvis.communes.models import Commune
from parvis.demarches import services, services_dossier
from parvis.demarches.models import Demande, Status
from parvis.families.models import Document

DEMANDES, DOCUMENTS = "demarches.demandes", "demarches.documents"
# The batch actions on requests, and the status each leads to.
DEMANDE_ACTIONS = {
    "prendre": Status.EN_COURS,
    "accepter": Status.ACCEPTEE,
    "classer": Status.SANS_SUITE,
}
# Their buttons, named by the job's page when a request was left.
BUTTONS = {
    "prendre": gettext_lazy("Prendre en charge"),
    "accepter": gettext_lazy("Accepter"),
    "classer": gettext_lazy("Classer sans suite"),
}
NOT_FOUND = ""  # a number left because the agent may not see it (or it does not exist)


@transaction.atomic
def start_demandes(
    *,
    commune: Commune,
    actor: User,
    action: str,
    numbers: list[str],
    visible: dict[str, Demande],
    return_url: str = "",
) -> Job:
    """Queues `action` (DEMANDE_ACTIONS) on the ticked requests `numbers` as a job; returns it.
    `visible` holds those the agent may see ({number: request}, from the guichet's selectors):
    the job works on them, in the order ticked; the others are only named on its page."""
    if action not in DEMANDE_ACTIONS:
        raise ValueError("unknown batch action")
    numbers = [str(number) for number in dict.fromkeys(numbers)]
    return start_job(
        commune=commune,
        actor=actor,
        kind=DEMANDES,
        items=[visible[number].pk for number in numbers if number in visible],
        params={
            "action": action,
            "not_found": [number for number in numbers if number not in visible],
        },
        return_url=return_url,
    )


@transaction.atomic
def start_documents(
    *,
    commune: Commune,
    actor: User,
    pks: list[int],
    visible: dict[int, Document],
    return_url: str = "",
) -> Job:
    """Queues « Valider la sélection » on the ticked documents `pks` as a job; returns it. The
    job works on those in `visible` (the agent may see them); the others are only counted."""
    pks = list(dict.fromkeys(int(pk) for pk in pks))
    return start_job(
        commune=commune,
        actor=actor,
        kind=DOCUMENTS,
        items=[pk for pk in pks if pk in visible],
        params={"not_found": sum(1 for pk in pks if pk not in visible)},
        return_url=return_url,
    )


def _agent(job: Job):
    """The commune and the agent who started the job, as they are now (None: no longer an
    agent there, nothing is done)."""
    commune = Commune.objects.get(pk=job.commune_id)
    actor = User.objects.filter(pk=job.actor_id).first() if job.actor_id else None
    return commune, (agent_of(actor, commune) if actor is not None else None)


def run_demandes(job: Job, pks: list[int]) -> dict:
    """One batch of requests: each through services.take / services.transition, as one by one;
    those the TRANSITIONS table does not allow are listed in `left` as [number, status]."""
    commune, agent = _agent(job)
    found = {
        demande.pk: demande
        for demande in Demande.objects.filter(commune=commune, pk__in=pks).select_related(
            "procedure"
        )
    }
    if agent is None:  # no longer an agent of the commune: nothing done
        return {"done": 0, "left": [[found[pk].number, NOT_FOUND] for pk in pks if pk in found]}
    action = job.params["action"]
    to = DEMANDE_ACTIONS[action]
    done, left = 0, []
    for pk in pks:
        demande = found.get(pk)
        if demande is None:  # deleted since
            continue
        number = demande.number
        try:
            if action == "prendre":
                services.take(demande=demande, agent=agent.user)
            else:
                services.transition(demande=demande, to=to, actor=agent.user)
        except services.NotAllowed:
            demande.refresh_from_db(fields=["status"])
            left.append([number, demande.status])
            continue
        done += 1
    return {"done": done, "left": left}


def summary_demandes(job: Job) -> list[str]:
    """What the job's page says of the batch so far, in the reader's language."""
    done = job.result.get("done", 0)
    left = [*job.result.get("left", []), *([n, NOT_FOUND] for n in job.params.get("not_found", []))]
    action = job.params.get("action")
    if action == "prendre":
        text = ngettext(
            "%(count)d demande prise en charge.", "%(count)d demandes prises en charge.", done
        )
    elif action == "accepter":
        text = ngettext("%(count)d demande acceptée.", "%(count)d demandes acceptées.", done)
    else:
        text = ngettext(
            "%(count)d demande classée sans suite.", "%(count)d demandes classées sans suite.", done
        )
    lines = [text % {"count": done}]
    if left:
        labels = dict(Status.choices)
        names = [
            f"{number} ({labels[status]})"
            if status in labels
            else gettext("%(number)s (introuvable)") % {"number": number}
            for number, status in left
        ]
        lines.append(
            ngettext(
                "%(count)d demande n'a pas été traitée, « %(action)s » n'étant pas possible "
                "dans son état : %(numbers)s.",
                "%(count)d demandes n'ont pas été traitées, « %(action)s » n'étant pas possible "
                "dans leur état : %(numbers)s.",
                len(left),
            )
            % {
                "count": len(left),
                "action": BUTTONS.get(action, ""),
                "numbers": ", ".join(names),
            }
        )
    return lines


def run_documents(job: Job, pks: list[int]) -> dict:
    """One batch of documents through services_dossier.validate_selection (each still « déposé »
    validated as one by one, then the families' file requests that became complete accepted)."""
    commune, agent = _agent(job)
    if agent is None:  # no longer an agent of the commune: nothing done
        return {"done": 0, "left": len(pks)}
    found = {
        document.pk: document
        for document in Document.objects.filter(commune=commune, pk__in=pks).select_related(
            "famille"
        )
    }
    reviewed = services_dossier.validate_selection(
        documents=[found[pk] for pk in pks if pk in found], actor=agent.user
    )
    done = len(reviewed.documents)
    return {
        "done": done,
        "left": len(pks) - done,
        "accepted": [
            [demande.famille.name if demande.famille else "", demande.number]
            for demande in reviewed.accepted
        ],
    }


def summary_documents(job: Job) -> list[str]:
    done = job.result.get("done", 0)
    left = job.result.get("left", 0) + job.params.get("not_found", 0)
    lines = [
        ngettext("%(count)d document validé.", "%(count)d documents validés.", done)
        % {"count": done}
    ]
    if left:
        lines.append(
            ngettext(
                "%(count)d document n'a pas été validé : introuvable ou déjà examiné.",
                "%(count)d documents n'ont pas été validés : introuvables ou déjà examinés.",
                left,
            )
            % {"count": left}
        )
    for name, number in job.result.get("accepted", []):
        lines.append(
            gettext(
                "Le dossier administratif de la famille %(name)s est complet : la demande "
                "%(number)s est acceptée."
            )
            % {"name": name, "number": number}
        )
    return lines


DEMANDES_KIND = jobs.JobKind(
    label=gettext_lazy("Action sur les demandes sélectionnées"),
    run_batch=run_demandes,
    summary=summary_demandes,
)
DOCUMENTS_KIND = jobs.JobKind(
    label=gettext_lazy("Validation des documents sélectionnés"),
    run_batch=run_documents,
    summary=summary_documents,
)
