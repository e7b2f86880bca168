"""Reads for the attendance registers. The callers scope them: `day_summary` receives the
activities the agent covers (guichet.selectors.visible_activities), the others a unit found
through guichet.selectors.unit_for (of the commune and a service the agent covers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from parvis.activities.calendar import closed_reason
from parvis.activities.models import (
    Absence,
    Activity,
    ActivityClosure,
    Attendance,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.services import closures_of
from parvis.families.models import Famille, Personne


def unit_closed(unit: Unit, day: date, closures: dict[date, str]) -> str | None:
    """Why `unit` does not run on `day` (holiday, closure, weekday, out of period), or None."""
    activity = unit.activity
    closed = closed_reason(
        day,
        zone=activity.commune.holiday_zone or "C",
        weekdays=unit.weekdays,
        during=activity.runs,
        start=activity.start,
        end=activity.end,
        closures=closures,
    )
    return str(closed.reason) if closed else None


# --- One register --------------------------------------------------------------------------------


@dataclass
class RegisterRow:
    """A child on the register: booked (a confirmed Reservation), or ticked without one."""

    child: Personne
    famille: Famille
    reservation: Reservation | None
    attendance: Attendance | None
    absence: Absence | None = None
    field: object = None  # the bound radio field, set by the view

    @property
    def booked(self) -> bool:
        return self.reservation is not None

    @property
    def state(self) -> str | None:
        """« present », « absent », or None when not ticked yet."""
        if self.attendance is None:
            return None
        return "present" if self.attendance.present else "absent"


@dataclass
class Sheet:
    rows: list[RegisterRow]
    candidates: list[Inscription]  # registered to the activity, not on the register
    closed: str | None  # why the unit does not run that day
    others: dict[str, int]  # bookings not confirmed, by state

    @property
    def booked(self) -> int:
        return sum(1 for row in self.rows if row.booked)

    @property
    def unbooked(self) -> int:
        return len(self.rows) - self.booked

    @property
    def present(self) -> int:
        return sum(1 for row in self.rows if row.state == "present")

    @property
    def absent(self) -> int:
        return sum(1 for row in self.rows if row.state == "absent")

    @property
    def to_tick(self) -> int:
        return sum(1 for row in self.rows if row.state is None)


def _name_key(child: Personne):
    return (child.last_name.upper(), child.first_names.upper(), child.pk)


def register(unit: Unit, day: date, *, school: str = "") -> list[Reservation]:
    """The children booked on `unit` and `day` (confirmed bookings), by name; of one school
    when `school` is given."""
    qs = Reservation.objects.filter(unit=unit, day=day, status=BookingStatus.RESERVEE)
    if school:
        qs = qs.filter(child__school=school)
    return list(
        qs.select_related("child", "famille").order_by(
            "child__last_name", "child__first_names", "pk"
        )
    )


def other_states(unit: Unit, day: date) -> dict[str, int]:
    """How many bookings of that unit and day are not (yet) confirmed, by state."""
    rows = (
        Reservation.objects.filter(unit=unit, day=day)
        .exclude(status=BookingStatus.RESERVEE)
        .values("status")
        .annotate(n=Count("pk"))
    )
    labels = dict(BookingStatus.choices)
    return {str(labels[row["status"]]): row["n"] for row in rows}


def register_sheet(unit: Unit, day: date, *, school: str = "") -> Sheet:
    """Everything a register shows: the children booked, those ticked without a booking, the
    absence their family declared, who else may be added (registered, not on the register).
    Six queries whatever the number of children."""
    bookings = register(unit, day, school=school)
    attendances = Attendance.objects.filter(unit=unit, day=day).select_related("child", "famille")
    if school:
        attendances = attendances.filter(child__school=school)
    ticked = {attendance.child_id: attendance for attendance in attendances}
    rows = [
        RegisterRow(
            child=booking.child,
            famille=booking.famille,
            reservation=booking,
            attendance=ticked.pop(booking.child_id, None),
        )
        for booking in bookings
    ]
    # Ticked without a confirmed booking: the unbooked presences (or one corrected to absent).
    rows += [
        RegisterRow(
            child=attendance.child,
            famille=attendance.famille,
            reservation=None,
            attendance=attendance,
        )
        for attendance in ticked.values()
    ]
    rows.sort(key=lambda row: _name_key(row.child))
    on_register = [row.child.pk for row in rows]
    absences = {}
    for absence in Absence.objects.filter(
        commune_id=unit.commune_id,
        child_id__in=on_register,
        first_day__lte=day,
        last_day__gte=day,
    ).order_by("first_day", "pk"):
        absences[absence.child_id] = absence  # the latest declared wins
    for row in rows:
        row.absence = absences.get(row.child.pk)
    candidates = Inscription.objects.filter(
        activity_id=unit.activity_id, status=InscriptionStatus.ACCEPTEE
    ).exclude(child_id__in=on_register)
    if school:
        candidates = candidates.filter(child__school=school)
    candidates = sorted(candidates.select_related("child"), key=lambda i: _name_key(i.child))
    return Sheet(
        rows=rows,
        candidates=candidates,
        closed=unit_closed(unit, day, closures_of(unit.activity, day, day)),
        others=other_states(unit, day),
    )


# --- The day's registers -------------------------------------------------------------------------


@dataclass
class UnitSummary:
    unit: Unit
    closed: str | None
    booked: int = 0
    present: int = 0
    absent: int = 0
    unbooked: int = 0  # ticked present without a booking
    to_tick: int = 0  # booked, not ticked yet


@dataclass
class ActivitySummary:
    activity: Activity
    units: list[UnitSummary]


def schools_of_day(activities: QuerySet[Activity], day: date) -> list[str]:
    """The schools of the children booked on `day` on the units of `activities`."""
    return list(
        Reservation.objects.filter(
            unit__activity__in=activities, day=day, status=BookingStatus.RESERVEE
        )
        .exclude(child__school="")
        .order_by("child__school")
        .values_list("child__school", flat=True)
        .distinct()
    )


def day_summary(
    activities: QuerySet[Activity], day: date, *, school: str = ""
) -> list[ActivitySummary]:
    """For each unit of `activities` (those the agent covers): the children booked on `day`,
    ticked present and absent, not ticked yet. Four queries whatever the number of units."""
    units = list(
        Unit.objects.filter(activity__in=activities)
        .select_related("activity", "activity__commune")
        .order_by("activity__position", "activity__name", "activity_id", "position", "starts_at")
    )
    if not units:
        return []
    commune_id = units[0].commune_id
    by_child = Q(child__school=school) if school else Q()
    bookings: dict[tuple[int, bool], int] = {}
    for row in (
        Reservation.objects.filter(by_child, unit__in=units, day=day, status=BookingStatus.RESERVEE)
        .annotate(
            ticked=Exists(
                Attendance.objects.filter(
                    unit_id=OuterRef("unit_id"), child_id=OuterRef("child_id"), day=day
                )
            )
        )
        .values("unit_id", "ticked")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        bookings[(row["unit_id"], row["ticked"])] = row["n"]
    ticks: dict[tuple[int, bool, bool], int] = {}
    for row in (
        Attendance.objects.filter(by_child, unit__in=units, day=day)
        .values("unit_id", "present", "booked")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        ticks[(row["unit_id"], row["present"], row["booked"])] = row["n"]
    closures: dict[int | None, dict[date, str]] = {}
    for closure in ActivityClosure.objects.filter(commune_id=commune_id, day=day):
        closures.setdefault(closure.activity_id, {})[closure.day] = closure.reason
    summaries: dict[int, ActivitySummary] = {}
    for unit in units:
        pk = unit.pk
        day_closures = {**closures.get(None, {}), **closures.get(unit.activity_id, {})}
        summary = UnitSummary(
            unit=unit,
            closed=unit_closed(unit, day, day_closures),
            booked=bookings.get((pk, True), 0) + bookings.get((pk, False), 0),
            present=ticks.get((pk, True, True), 0) + ticks.get((pk, True, False), 0),
            absent=ticks.get((pk, False, True), 0) + ticks.get((pk, False, False), 0),
            unbooked=ticks.get((pk, True, False), 0),
            to_tick=bookings.get((pk, False), 0),
        )
        summaries.setdefault(
            unit.activity_id, ActivitySummary(activity=unit.activity, units=[])
        ).units.append(summary)
    return list(summaries.values())
