"""A family's inscriptions to activities as requests (« Demande » of the procedure
`inscription-activite`): « Inscrire un enfant à une activité » files one numbered request per
child, with its inscription « en attente d'instruction »; the agent's decision on the request,
from whichever queue, is the inscription's (the closing hook below, registered in apps.py).

Which children an activity takes (its levels, not already registered or waiting) is said once
here, for the page that offers them and for the write that checks them again under a lock."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities.models import Activity, Inscription, InscriptionStatus
from parvis.communes.models import Commune
from parvis.demarches import services as demarches_services
from parvis.demarches.models import Demande, Procedure, Status
from parvis.families.models import Famille, MemberKind, Personne, SchoolLevel
from parvis.families.selectors_citizen import _linked_families

INSCRIPTION_SLUG = "inscription-activite"
REASON_MAX_LENGTH = Inscription._meta.get_field("refusal_reason").max_length


class InscriptionRefused(Exception):
    """Nothing was filed. `problems` maps a child's pk (None: the whole request) to why, in
    French."""

    def __init__(self, problems: dict):
        super().__init__(problems)
        self.problems = problems


def open_activities(*, commune: Commune, today) -> QuerySet[Activity]:
    """The commune's activities a family may still register to: their period has not ended."""
    return Activity.objects.filter(commune=commune, end__gte=today).order_by(
        "position", "name", "pk"
    )


def _levels_label(levels) -> str:
    labels = dict(SchoolLevel.choices)
    return ", ".join(str(labels.get(level, level)) for level in levels)


def why_not_offered(*, activity: Activity, child: Personne, inscription: Inscription | None):
    """None when `child` may be registered to `activity`, else why not (said next to the
    child). A refused inscription may be asked for again."""
    if inscription is not None and inscription.status == InscriptionStatus.ACCEPTEE:
        return _("déjà inscrit à cette activité (inscription acceptée)")
    if inscription is not None and inscription.status == InscriptionStatus.EN_ATTENTE:
        number = inscription.demande.number if inscription.demande_id else ""
        if number:
            return _("demande d'inscription déjà en attente d'instruction (%(number)s)") % {
                "number": number
            }
        return _("inscription déjà en attente d'instruction")
    if activity.levels and child.level not in activity.levels:
        if not child.level:
            return _(
                "niveau scolaire non renseigné : cette activité accueille le niveau "
                "%(levels)s (demandez au service de compléter la fiche de l'enfant)"
            ) % {"levels": _levels_label(activity.levels)}
        return _("niveau %(level)s : cette activité accueille le niveau %(levels)s") % {
            "level": child.get_level_display(),
            "levels": _levels_label(activity.levels),
        }
    return None


def household_children(*, user: User, commune: Commune) -> QuerySet[Personne]:
    """The children of the families the account is linked to, in this commune."""
    return (
        Personne.objects.filter(
            commune=commune,
            kind=MemberKind.ENFANT,
            famille__in=_linked_families(user=user, commune=commune),
        )
        .select_related("famille")
        .order_by("famille__name", "birth_date", "first_names", "pk")
    )


@dataclass
class Filed:
    child: Personne
    demande: Demande
    new: bool  # False: the request was already waiting (a second click of « Envoyer »)


def period_label(activity: Activity) -> str:
    return _("du %(start)s au %(end)s") % {
        "start": activity.start.strftime("%d/%m/%Y"),
        "end": activity.end.strftime("%d/%m/%Y"),
    }


@transaction.atomic
def request_inscriptions(
    *, user: User, commune: Commune, activity: Activity, children: list[Personne], today=None
) -> list[Filed]:
    """« Envoyer la demande »: for each child, one inscription « en attente d'instruction » and
    one submitted request (the agent accepts), all or nothing. A child whose request is already
    waiting gets no second one (two clicks file once: the families' rows are locked); a refused
    inscription is asked for again on the same row. InscriptionRefused when anything is wrong."""
    today = today or timezone.localdate()
    if activity.commune_id != commune.pk or activity.end < today:
        raise InscriptionRefused({None: _("Cette activité n'est pas ouverte aux inscriptions.")})
    wanted = {child.pk for child in children}
    if not wanted:
        raise InscriptionRefused({None: _("Choisissez au moins un enfant.")})
    kids = list(household_children(user=user, commune=commune).filter(pk__in=wanted))
    if len(kids) != len(wanted):
        raise InscriptionRefused({None: _("Cet enfant n'est pas de votre foyer.")})
    # The families' rows, in a fixed order: a second click (or the other parent) waits here and
    # then sees the first request.
    list(
        Famille.objects.select_for_update()
        .filter(pk__in={kid.famille_id for kid in kids})
        .order_by("pk")
    )
    existing = {
        inscription.child_id: inscription
        # of=self: PostgreSQL locks no row of the nullable side of an outer join.
        for inscription in Inscription.objects.select_for_update(of=("self",))
        .select_related("demande")
        .filter(activity=activity, child__in=kids)
    }
    filed, to_file, problems = [], [], {}
    for kid in kids:
        inscription = existing.get(kid.pk)
        if (
            inscription is not None
            and inscription.status == InscriptionStatus.EN_ATTENTE
            and inscription.demande_id
            and inscription.demande.status != Status.BROUILLON
        ):
            filed.append(Filed(child=kid, demande=inscription.demande, new=False))
            continue
        reason = why_not_offered(activity=activity, child=kid, inscription=inscription)
        if reason:
            problems[kid.pk] = reason
        else:
            to_file.append(kid)
    if problems:
        raise InscriptionRefused(problems)
    if not to_file:
        return filed
    procedure = Procedure.objects.filter(
        commune=commune, slug=INSCRIPTION_SLUG, is_enabled=True
    ).first()
    if procedure is None:
        raise InscriptionRefused(
            {None: _("La commune ne reçoit pas les inscriptions en ligne : contactez le service.")}
        )
    now = timezone.now()
    for kid in to_file:
        try:
            demande = demarches_services.start_draft(procedure=procedure, user=user)
        except demarches_services.NotAllowed as error:
            raise InscriptionRefused(
                {None: _("Votre compte ne peut pas demander d'inscription : contactez la mairie.")}
            ) from error
        demande.famille = kid.famille
        demande.answers = {
            "enfant": f"{kid.first_names} {kid.last_name}",
            "activite": activity.name,
            "periode": period_label(activity),
            "activity_slug": activity.slug,
            "child_id": kid.pk,
        }
        demande.save(update_fields=["famille", "answers", "updated_at"])
        inscription = existing.get(kid.pk)
        before = inscription.status if inscription is not None else None
        if inscription is None:
            inscription = Inscription.objects.create(
                commune=commune, famille=kid.famille, child=kid, activity=activity, demande=demande
            )
        else:  # asked again after a refusal: the same row (one per child and activity)
            inscription.famille = kid.famille
            inscription.status = InscriptionStatus.EN_ATTENTE
            inscription.refusal_reason = ""
            inscription.decided_at = None
            inscription.created_at = now  # « demandée le » in the agents' queue
            inscription.demande = demande
            inscription.save(
                update_fields=[
                    "famille", "status", "refusal_reason", "decided_at", "created_at", "demande",
                ]
            )  # fmt: skip
        # Linked before submit(): a procedure the commune set to accept automatically closes
        # the request at once, and the closing hook must find its inscription.
        demarches_services.submit(demande=demande)
        demande.refresh_from_db()  # submit() numbered a fresh copy of the row
        audit(
            actor=user,
            action="inscription.request",
            commune=commune,
            target=inscription,
            famille_id=kid.famille_id,
            changes={
                "status": [before, InscriptionStatus.EN_ATTENTE],
                "demande": [None, demande.number],
            },
        )
        filed.append(Filed(child=kid, demande=demande, new=True))
    return filed


def on_demande_closed(*, demande: Demande, to: str, actor, comment: str) -> None:
    """The closing hook of `inscription-activite` (demarches.services._change_status, in its
    transaction): the request accepted, the inscription is; refused or « classée sans suite »,
    it is refused with the service's words as the reason. Audited."""
    inscription = Inscription.objects.select_for_update().filter(demande=demande).first()
    if inscription is None:
        return
    status = InscriptionStatus.ACCEPTEE if to == Status.ACCEPTEE else InscriptionStatus.REFUSEE
    before = inscription.status
    inscription.status = status
    inscription.decided_at = timezone.now()
    if status == InscriptionStatus.REFUSEE:
        reason = comment.strip() or (
            _("Demande classée sans suite.") if to == Status.SANS_SUITE else ""
        )
        inscription.refusal_reason = reason[:REASON_MAX_LENGTH]
    else:
        inscription.refusal_reason = ""
    inscription.save(update_fields=["status", "decided_at", "refusal_reason"])
    changes = {"status": [before, status]}
    if inscription.refusal_reason:
        changes["refusal_reason"] = ["", inscription.refusal_reason]
    accepted = status == InscriptionStatus.ACCEPTEE
    audit(
        actor=actor,
        action="inscription.accept" if accepted else "inscription.refuse",
        commune=demande.commune,
        target=inscription,
        famille_id=inscription.famille_id,
        changes=changes,
    )
