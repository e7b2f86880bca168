"""Reads of « Inscrire un enfant à une activité » (views_inscriptions), scoped to the commune of
the URL and to the families the account is linked to."""

from __future__ import annotations

from parvis.activities.models import Activity, Inscription
from parvis.activities.services_inscriptions import INSCRIPTION_SLUG, open_activities
from parvis.demarches.models import Demande
from parvis.families.selectors_citizen import _linked_families


def open_activities_listed(*, commune, today) -> list[Activity]:
    """The open activities with what a list of them shows (slug, name, period): one query."""
    return list(open_activities(commune=commune, today=today).only("slug", "name", "start", "end"))


def open_activity(*, commune, today, slug: str) -> Activity | None:
    """The commune's open activity `slug`, None for any other (ended, another commune's…)."""
    return open_activities(commune=commune, today=today).filter(slug=slug).first()


def inscriptions_by_child(*, activity: Activity, children) -> dict[int, Inscription]:
    """{child id: the child's inscription to `activity`, with its request}: one query."""
    return {
        inscription.child_id: inscription
        for inscription in Inscription.objects.filter(
            activity=activity, child__in=children
        ).select_related("demande")
    }


def inscription_requests(*, user, commune, numbers) -> list[Demande]:
    """The inscription requests `numbers` of the families the account is linked to, by number."""
    return list(
        Demande.objects.filter(
            commune=commune,
            number__in=numbers,
            procedure__slug=INSCRIPTION_SLUG,
            famille__in=_linked_families(user=user, commune=commune),
        )
        .select_related("inscription__child", "inscription__activity")
        .order_by("number")
    )
