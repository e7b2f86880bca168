"""The custody rules of shared children (families.SharedCustody with its activities' lines), read
as `families.custody.Plan`s: for billing (who pays a day) and the booking screen (who will be
billed). Two queries whatever the number of children."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from parvis.activities.models import CustodyActivity
from parvis.families.custody import Plan
from parvis.families.models import SharedCustody


def plans(
    *, commune_id: int, child_ids: Iterable[int] | None = None, famille_ids=None
) -> dict[int, Plan]:
    """child id → Plan, for the commune's shared children (those of `child_ids`, or those of
    which one of `famille_ids` is a household, when given)."""
    rows = SharedCustody.objects.filter(commune_id=commune_id)
    if child_ids is not None:
        rows = rows.filter(child_id__in=list(child_ids))
    if famille_ids is not None:
        famille_ids = list(famille_ids)
        rows = rows.filter(
            Q(child__famille_id__in=famille_ids) | Q(other_famille_id__in=famille_ids)
        )
    found = list(
        rows.values_list(
            "pk", "child_id", "child__famille_id", "other_famille_id", "rule", "first_side",
            "start_week", "percent_foyer", "since",
        )
    )  # fmt: skip
    if not found:
        return {}
    sides: dict[int, dict[int, str]] = defaultdict(dict)
    for custody_id, activity_id, side in CustodyActivity.objects.filter(
        custody_id__in=[row[0] for row in found]
    ).values_list("custody_id", "activity_id", "side"):
        sides[custody_id][activity_id] = side
    return {
        child_id: Plan(
            child_id=child_id,
            foyer_id=foyer_id,
            other_id=other_id,
            rule=rule,
            first_side=first_side,
            start_week=start_week,
            percent_foyer=percent,
            since=since or date.min,
            activity_sides=sides[pk],
        )
        for pk, child_id, foyer_id, other_id, rule, first_side, start_week, percent, since in found
    }


def plan_of(child) -> Plan | None:
    """The custody plan of one child, or None (not shared): two queries at most."""
    return plans(commune_id=child.commune_id, child_ids=[child.pk]).get(child.pk)


def custodies_of(famille) -> list[SharedCustody]:
    """The shared custodies of a family file (agents): its children shared with another
    household, and the children of another household shared with it; one query."""
    return list(
        SharedCustody.objects.filter(commune_id=famille.commune_id)
        .filter(Q(child__famille=famille) | Q(other_famille=famille))
        .select_related("child__famille", "other_famille")
        .order_by("child__birth_date", "child__first_names", "pk")
    )
