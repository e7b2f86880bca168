"""« Valider » from the household grid: the baskets of every child and activity saved in one
transaction — through services.validate_baskets, the one place the booking rules, seats and
waiting lists are applied — or nothing at all when any of them breaks a rule; then one summary
e-mail for the whole validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from parvis.accounts.models import User
from parvis.activities.models import Activity, Unit
from parvis.activities.services import (
    Basket,
    BasketResult,
    BasketsRefused,
    queue_baskets_summary,
    validate_baskets,
)
from parvis.families.models import Famille, Personne


@dataclass
class ChildBasket:
    """The changes of one child for one activity."""

    child: Personne
    activity: Activity
    add: list[tuple[Unit, date]] = field(default_factory=list)
    remove: list[tuple[Unit, date]] = field(default_factory=list)
    file_complete: bool = True
    result: BasketResult | None = None  # once validated


class HouseholdBasketRefused(Exception):
    """Some changes break a rule: nothing at all was saved. `problems` maps (child id, unit id,
    day) to the reason, in French; (child id, None, None) for a child's basket as a whole."""

    def __init__(self, problems: dict):
        super().__init__(problems)
        self.problems = problems


def validate_household_basket(
    *, baskets: list[ChildBasket], actor: User, now: datetime | None = None
) -> list[ChildBasket]:
    """Every basket through services.validate_baskets, in its one transaction (none more around
    it: a savepoint and its release less for each « Valider », issue 23) and one
    reservations.move (the seat counters of all of them locked first, in the one order every
    writer keeps): when one is refused the others are still checked (every problem is said at
    once) and nothing is saved. On success, `basket.result` is set and one e-mail sums the whole
    validation up, queued once that transaction has committed. A constant number of queries
    whatever the number of children, activities and days. The e-mail is rendered by a task
    (tasks.send_baskets_summary), not here."""
    now = now or timezone.now()
    problems = {}
    # The households' rows: those the children were read with (the household grid's
    # selector), else read once (a child's own `famille` would be a query per child).
    familles = {}
    for b in baskets:
        child, activity = b.child, b.activity
        if not (Personne.famille.is_cached(child) and Activity.commune.is_cached(activity)):
            continue
        famille = child.famille
        if famille.commune_id == activity.commune_id:
            if not Famille.commune.is_cached(famille):
                famille.commune = activity.commune
            familles[famille.pk] = famille
    missing = {b.child.famille_id for b in baskets} - familles.keys()
    if missing:
        familles.update(Famille.objects.select_related("commune").in_bulk(missing))
    try:
        results = validate_baskets(
            [
                Basket(famille=familles[b.child.famille_id], child=b.child, activity=b.activity,
                       add=b.add, remove=b.remove, file_complete=b.file_complete)
                for b in baskets
            ],
            actor=actor,
            now=now,
        )  # fmt: skip
    except BasketsRefused as refused:
        for index, found in refused.problems.items():
            for key, reason in found.items():
                unit_id, day = key if key is not None else (None, None)
                problems[(baskets[index].child.pk, unit_id, day)] = reason
    else:
        for basket, result in zip(baskets, results, strict=True):
            basket.result = result
    if problems:
        raise HouseholdBasketRefused(problems)
    done = [b for b in baskets if b.result.added or b.result.waiting or b.result.removed]
    if done:
        queue_baskets_summary(
            user=actor,
            commune_id=done[0].activity.commune_id,
            baskets=[(b.child, b.activity, b.result) for b in done],
        )
    return baskets
