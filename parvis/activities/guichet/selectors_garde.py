"""Reads of the agents' page of a child's shared custody (« garde partagée »,
activities.guichet.views_garde), scoped to the commune in the URL and to an agent who may edit
family files: another commune's child, or an agent without that role, finds nothing."""

from __future__ import annotations

from parvis.accounts.agents import Agent
from parvis.activities.models import Activity, CustodyActivity
from parvis.communes.models import Commune
from parvis.families.models import MemberKind, Personne, SharedCustody
from parvis.ids import parse_id


def custody_child(*, commune: Commune, agent: Agent, pk) -> Personne | None:
    """The commune's child `pk` with its household and its custody rule (one query), or None."""
    pk = parse_id(pk)
    if pk is None or not agent.can_edit_families:
        return None
    return (
        Personne.objects.filter(commune=commune, kind=MemberKind.ENFANT, pk=pk)
        .select_related("famille", "commune", "custody__other_famille")
        .first()
    )


def custody_sides(*, custody: SharedCustody) -> dict[int, str]:
    """activity id → the side that pays it, as the custody rule records it (one query)."""
    return dict(CustodyActivity.objects.filter(custody=custody).values_list("activity_id", "side"))


def custody_activities(*, commune: Commune) -> list[Activity]:
    """Every activity of the commune, in its order: a custody rule may name any of them."""
    return list(Activity.objects.filter(commune=commune).order_by("position", "name", "pk"))
