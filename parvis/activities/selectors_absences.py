"""Reads of absences, always scoped: for a citizen, the absences of the households their account
is linked to in the commune of the URL (anything else is None, so a 404); and, for any list of
absences, the bookings of the days they cover, in one query whatever their number."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q

from parvis.accounts.models import User
from parvis.activities.models import Absence, Reservation
from parvis.communes.models import Commune
from parvis.families.models import SharedCustody
from parvis.families.selectors_citizen import _linked_families
from parvis.ids import parse_id


def with_bookings(absences: list[Absence], *, activities=None) -> list[Absence]:
    """Each absence with `bookings`: the child's bookings (any state) of the days it covers,
    by day; only those of `activities` when given (an agent sees their services' only). One
    query for the whole list (a page: one condition per absence)."""
    absences = list(absences)
    for absence in absences:
        absence.bookings = []
    if not absences:
        return absences
    covered = reduce(
        or_,
        (
            Q(child_id=absence.child_id, day__range=(absence.first_day, absence.last_day))
            for absence in absences
        ),
    )
    rows = Reservation.objects.filter(covered, commune_id=absences[0].commune_id)
    if activities is not None:
        rows = rows.filter(unit__activity__in=activities)
    rows = rows.select_related("unit__activity").order_by(
        "day", "unit__activity__position", "unit__position", "pk"
    )
    for booking in rows:
        for absence in absences:
            if (
                absence.child_id == booking.child_id
                and absence.first_day <= booking.day <= absence.last_day
            ):
                absence.bookings.append(booking)
    return absences


def family_absences(*, user: User, commune: Commune):
    """The absences of the account's households, the latest first (a queryset: the page shows
    them a page at a time, each page then read `with_bookings`)."""
    return (
        Absence.objects.filter(
            commune=commune, famille__in=_linked_families(user=user, commune=commune)
        )
        .select_related("child", "famille", "certificate", "commune")
        .order_by("-first_day", "-pk")
    )


def family_absence(*, user: User, commune: Commune, pk) -> Absence | None:
    """One absence of the account's households (with its bookings), None for anything else:
    another family's, another commune's, a malformed id."""
    pk = parse_id(pk)
    if pk is None:
        return None
    absence = family_absences(user=user, commune=commune).filter(pk=pk).first()
    if absence is None:
        return None
    return with_bookings([absence])[0]


def shares_child(famille, child) -> bool:
    """`famille` is the other household of `child` in shared custody (families.SharedCustody,
    of the same commune)."""
    return SharedCustody.objects.filter(
        child_id=child.pk, other_famille_id=famille.pk, commune_id=famille.commune_id
    ).exists()


def shared_children(*, user: User, commune: Commune) -> list[tuple]:
    """[(household, child)]: the children of another household that one of the account's
    households shares (« garde partagée »), with that household of the account; one query."""
    return [
        (custody.other_famille, custody.child)
        for custody in SharedCustody.objects.filter(
            commune=commune, other_famille__in=_linked_families(user=user, commune=commune)
        )
        .select_related("other_famille", "child")
        .order_by("child__birth_date", "child__first_names", "pk")
    ]
