"""Shared custody written by an agent: the rule of a child who belongs to two households, from
the judgment or the parents' agreement (families.SharedCustody, with the activities' lines of
the rule « par activité »). One transaction, one audit row in each household's journal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities.models import Activity, CustodyActivity
from parvis.families.models import (
    CustodyRule,
    CustodySide,
    CustodySource,
    Famille,
    MemberKind,
    Personne,
    SharedCustody,
)

FIELDS = (
    "other_famille",
    "rule",
    "first_side",
    "start_week",
    "percent_foyer",
    "since",
    "source",
    "source_date",
    "note",
)


class CustodyRefused(ValueError):
    pass


def _check(*, child, other_famille, rule, start_week, percent_foyer, activity_sides) -> None:
    if child.kind != MemberKind.ENFANT:
        raise CustodyRefused("not a child")
    if other_famille.commune_id != child.commune_id or other_famille.pk == child.famille_id:
        raise CustodyRefused("the other household is another family of the commune")
    if rule not in CustodyRule.values:
        raise CustodyRefused(f"unknown rule {rule!r}")
    if rule == CustodyRule.ALTERNANCE and (start_week is None or start_week.weekday() != 0):
        raise CustodyRefused("alternating weeks from a start week need that Monday")
    if rule == CustodyRule.POURCENTAGE and (
        percent_foyer is None or not Decimal(0) <= percent_foyer <= Decimal(100)
    ):
        raise CustodyRefused("a percentage from 0 to 100")
    for activity, side in activity_sides.items():
        if activity.commune_id != child.commune_id or side not in CustodySide.values:
            raise CustodyRefused("an activity of the commune, a side")


def _value(value):
    if isinstance(value, Famille):
        return value.reference
    if isinstance(value, date | Decimal):
        return str(value)
    return value


@transaction.atomic
def record_custody(
    *,
    child: Personne,
    other_famille: Famille,
    actor: User,
    rule: str,
    since: date,
    source: str = CustodySource.JUGEMENT,
    source_date: date | None = None,
    first_side: str = CustodySide.FOYER,
    start_week: date | None = None,
    percent_foyer: Decimal | None = None,
    note: str = "",
    activity_sides: dict[Activity, str] | None = None,
) -> SharedCustody:
    """Records (or changes) the custody rule of `child`, shared between its family and
    `other_famille`. The fields a rule does not use are emptied."""
    activity_sides = activity_sides if rule == CustodyRule.PAR_ACTIVITE else {}
    activity_sides = activity_sides or {}
    _check(
        child=child, other_famille=other_famille, rule=rule, start_week=start_week,
        percent_foyer=percent_foyer, activity_sides=activity_sides,
    )  # fmt: skip
    if rule != CustodyRule.ALTERNANCE:
        start_week = None
    if rule != CustodyRule.POURCENTAGE:
        percent_foyer = None
    if rule == CustodyRule.POURCENTAGE:
        first_side = CustodySide.FOYER
    custody = (
        SharedCustody.objects.select_for_update()
        .select_related("other_famille")
        .filter(child=child)
        .first()
    )
    new = {
        "other_famille": other_famille, "rule": rule, "first_side": first_side,
        "start_week": start_week, "percent_foyer": percent_foyer, "since": since,
        "source": source, "source_date": source_date, "note": note,
    }  # fmt: skip
    if custody is None:
        old = dict.fromkeys(FIELDS)
        custody = SharedCustody(commune_id=child.commune_id, child=child)
        old_sides: dict[int, str] = {}
    else:
        old = {name: getattr(custody, name) for name in FIELDS}
        old_sides = dict(
            CustodyActivity.objects.filter(custody=custody).values_list("activity_id", "side")
        )
    for name, value in new.items():
        setattr(custody, name, value)
    custody.updated_by = actor
    custody.save()
    new_sides = {activity.pk: side for activity, side in activity_sides.items()}
    if new_sides != old_sides:
        CustodyActivity.objects.filter(custody=custody).delete()
        CustodyActivity.objects.bulk_create(
            CustodyActivity(commune_id=child.commune_id, custody=custody, activity=a, side=s)
            for a, s in activity_sides.items()
        )
    changes = {
        name: [_value(old[name]), _value(new[name])]
        for name in FIELDS
        if _value(old[name]) != _value(new[name])
    }
    if new_sides != old_sides:
        names = {a.pk: a.name for a in activity_sides}

        def said(sides):
            return ", ".join(
                f"{names.get(pk, pk)} : {CustodySide(side).label}" for pk, side in sides.items()
            )

        changes["activities"] = [said(old_sides) or None, said(new_sides) or None]
    for famille_id in sorted({child.famille_id, other_famille.pk}):
        audit(
            actor=actor, action="garde_partagee.record", commune=child.commune,
            target=custody, famille_id=famille_id, changes=changes,
        )  # fmt: skip
    # A household that no longer shares the child reads only that it left: not the new
    # household, nor the agent's note (its journal is theirs to read and export).
    for famille_id in _old_other(old) - {child.famille_id, other_famille.pk}:
        audit(
            actor=actor, action="garde_partagee.record", commune=child.commune,
            target=custody, famille_id=famille_id,
            changes={"other_famille": [changes.get("other_famille", [None])[0], None]},
        )  # fmt: skip
    return custody


def _old_other(old: dict) -> set[int]:
    other = old.get("other_famille")
    return {other.pk} if other is not None else set()


@transaction.atomic
def end_custody(*, custody: SharedCustody, actor: User) -> None:
    """The child belongs to its own family alone again (both journals say so)."""
    child = custody.child
    for famille_id in sorted({child.famille_id, custody.other_famille_id}):
        audit(
            actor=actor, action="garde_partagee.end", commune=child.commune,
            target=custody, famille_id=famille_id,
            changes={"other_famille": [custody.other_famille.reference, None]},
        )  # fmt: skip
    custody.delete()
