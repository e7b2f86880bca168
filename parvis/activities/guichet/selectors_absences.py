"""Reads of the children's absences at the guichet, scoped to the commune in the URL and to the
agent: an agent sees the absence of a child registered (inscription accepted) to an activity of
a service they cover (parvis.activities.guichet.selectors.visible_activities). Anything else
is a 404."""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from parvis.accounts.agents import Agent
from parvis.activities.guichet.selectors import visible_activities
from parvis.activities.models import Absence, Inscription, InscriptionStatus
from parvis.activities.selectors_absences import with_bookings
from parvis.communes.models import Commune


def visible_absences(commune: Commune, agent: Agent) -> QuerySet[Absence]:
    covered = Inscription.objects.filter(
        child=OuterRef("child_id"),
        activity__in=visible_activities(commune, agent),
        status=InscriptionStatus.ACCEPTEE,
    )
    return Absence.objects.filter(commune=commune, famille__commune=commune).filter(Exists(covered))


def absences(
    commune: Commune, agent: Agent, *, day: date | None = None, justified: bool | None = None
) -> QuerySet[Absence]:
    """The absences the agent sees, those covering `day` only when given, the latest first."""
    rows = visible_absences(commune, agent)
    if day is not None:
        rows = rows.filter(first_day__lte=day, last_day__gte=day)
    if justified is not None:
        rows = rows.filter(justified=justified)
    return rows.select_related("child", "famille", "certificate").order_by(
        "-first_day", "child__last_name", "child__first_names", "pk"
    )


def absence_for(commune: Commune, agent: Agent, pk: int) -> Absence:
    """One absence the agent sees, with the bookings of their services on its days; else 404."""
    absence = (
        visible_absences(commune, agent)
        .select_related("child", "famille", "certificate__service", "declared_by", "commune")
        .filter(pk=pk)
        .first()
    )
    if absence is None:
        raise Http404
    return with_bookings([absence], activities=visible_activities(commune, agent))[0]
