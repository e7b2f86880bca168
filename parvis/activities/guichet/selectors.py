"""Reads for the agents' activities pages, always scoped to the commune AND to the services the
agent covers: an activity of another commune or of a service not covered is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, QuerySet
from django.http import Http404

from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    Activity,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.services import closures_of
from parvis.communes.models import Commune

QUEUE_PAGE_SIZE = 50  # lines per page of each queue (inscriptions, bookings)


def visible_activities(commune: Commune, agent, *, slug: str = "") -> QuerySet[Activity]:
    """The activities of the services the agent covers (all for an administrator); only the
    one of `slug` when given."""
    qs = Activity.objects.filter(commune=commune).select_related("service", "commune")
    if slug:
        qs = qs.filter(slug=slug)
    kinds = agent.service_kinds
    return qs if kinds is None else qs.filter(service__kind__in=kinds)


def visible_activities_with_units(commune: Commune, agent) -> list[Activity]:
    """The activities the agent sees, with their units: two queries."""
    return list(visible_activities(commune, agent).prefetch_related("units"))


def activity_for(commune: Commune, agent, slug: str) -> Activity:
    activity = visible_activities(commune, agent).filter(slug=slug).first()
    if activity is None:
        raise Http404
    return activity


def first_unit_start(*, activity: Activity):
    """When the activity's first unit starts (the example day of its rules' sentences), None
    without a unit: one query."""
    unit = Unit.objects.filter(activity=activity).order_by("position", "starts_at").first()
    return unit.starts_at if unit is not None else None


def unit_for(activity: Activity, code: str) -> Unit:
    unit = Unit.objects.filter(activity=activity, code=code).first()
    if unit is None:
        raise Http404
    return unit


@dataclass
class Cell:
    day: date
    closed: str | None
    booked: int = 0
    pending: int = 0
    waiting: int = 0
    seats: int | None = None

    @property
    def taken(self) -> int:
        return self.booked + self.pending

    @property
    def full(self) -> bool:
        return self.seats is not None and self.taken >= self.seats


@dataclass
class UnitRow:
    unit: Unit
    cells: list[Cell]


def occupancy(activity: Activity, monday: date) -> tuple[list[date], list[UnitRow]]:
    """Each unit's bookings per day of the week starting `monday`, against its seats; a day
    the unit does not run says why. Three queries whatever the number of units."""
    days = [monday + timedelta(days=n) for n in range(7)]
    units = list(activity.units.all())
    closures = closures_of(activity, days[0], days[-1])
    counts: dict[tuple[int, date, str], int] = {}
    for row in (
        Reservation.objects.filter(unit__activity=activity, day__range=(days[0], days[-1]))
        .values("unit_id", "day", "status")
        .annotate(n=Count("pk"))
    ):
        counts[(row["unit_id"], row["day"], row["status"])] = row["n"]
    rows = []
    for unit in units:
        cells = []
        for day in days:
            closed = closed_reason(
                day,
                zone=activity.commune.holiday_zone or "C",
                weekdays=unit.weekdays,
                during=activity.runs,
                start=activity.start,
                end=activity.end,
                closures=closures,
            )
            cells.append(
                Cell(
                    day=day,
                    closed=closed.reason if closed else None,
                    booked=counts.get((unit.pk, day, BookingStatus.RESERVEE), 0)
                    + counts.get((unit.pk, day, BookingStatus.PROPOSEE), 0),
                    pending=counts.get((unit.pk, day, BookingStatus.EN_ATTENTE), 0),
                    waiting=counts.get((unit.pk, day, BookingStatus.LISTE_ATTENTE), 0),
                    seats=unit.seats,
                )
            )
        rows.append(UnitRow(unit=unit, cells=cells))
    return days, rows


def pending_inscriptions(commune: Commune, agent) -> QuerySet[Inscription]:
    """The inscriptions « en attente d'instruction » of the activities the agent covers, oldest
    request first (paginated by the view: a count and one query a page)."""
    return (
        Inscription.objects.filter(
            commune=commune,
            activity__in=visible_activities(commune, agent),
            status=InscriptionStatus.EN_ATTENTE,
        )
        .select_related("child", "famille", "activity", "demande")
        .order_by("created_at", "pk")
    )


def pending_bookings(commune: Commune, agent) -> QuerySet[Reservation]:
    """The bookings « en attente d'instruction » of the activities the agent covers, by day."""
    return (
        Reservation.objects.filter(
            commune=commune,
            unit__activity__in=visible_activities(commune, agent),
            status=BookingStatus.EN_ATTENTE,
        )
        .select_related("child", "famille", "unit", "unit__activity")
        .order_by("day", "queued_at", "pk")
    )
