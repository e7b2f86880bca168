"""« Valider » from the household grid: the baskets of every child and activity saved in one
transaction — each through services.validate_basket, the one place the booking rules, seats and
waiting lists are applied — or nothing at all when any of them breaks a rule; then one summary
e-mail for the whole validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import User
from parvis.activities.models import Activity, Unit
from parvis.activities.reservations import lock_counters
from parvis.activities.services import (
    BasketRefused,
    BasketResult,
    send_baskets_summary,
    validate_basket,
)
from parvis.families.models import Personne


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


def _lock_seats(baskets: list[ChildBasket]) -> None:
    """Lock, first, every seat counter this validation may take or give back, in the one order
    every writer uses (reservations.lock_counters: unit, then day). validate_basket locks each
    basket's own as it goes; with several baskets in one transaction, two households validating
    at the same instant could otherwise lock the same rows in opposite orders (a deadlock, on
    PostgreSQL). Three queries at most."""
    lock_counters(
        (unit.pk, day)
        for basket in baskets
        for unit, day in basket.add + basket.remove
        if unit.seats is not None
    )


@transaction.atomic
def validate_household_basket(
    *, baskets: list[ChildBasket], actor: User, now: datetime | None = None
) -> list[ChildBasket]:
    """Each basket through validate_basket, all in this one transaction: when one is refused the
    others are still checked (every problem is said at once), then everything is rolled back.
    On success, `basket.result` is set and one e-mail sums the whole validation up (on
    commit)."""
    now = now or timezone.now()
    _lock_seats(baskets)
    problems = {}
    for basket in baskets:
        try:
            basket.result = validate_basket(
                famille=basket.child.famille, child=basket.child, activity=basket.activity,
                add=basket.add, remove=basket.remove, actor=actor, now=now,
                file_complete=basket.file_complete,
            )  # fmt: skip
        except BasketRefused as refused:
            for key, reason in refused.problems.items():
                unit_id, day = key if key is not None else (None, None)
                problems[(basket.child.pk, unit_id, day)] = reason
    if problems:
        # The baskets already validated wrote in this transaction: the exception undoes them.
        raise HouseholdBasketRefused(problems)
    done = [b for b in baskets if b.result.added or b.result.waiting or b.result.removed]
    if done:
        commune = done[0].activity.commune
        transaction.on_commit(
            lambda: send_baskets_summary(
                user=actor,
                commune=commune,
                baskets=[(b.child, b.activity, b.result) for b in done],
            )
        )
    return baskets
