"""Reads for the families' activities pages: the children's inscriptions (« vérification des
inscriptions »), which child and activity an account may book, and the reservation calendar.

Every function takes the commune of the request *and* the account: a child of a family the
account is not linked to, or an activity of another commune, is None (the views answer 404).
The calendar of a whole period is read in a constant number of queries, whatever its weeks."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.activities.calendar import closed_reason
from parvis.activities.custody import plan_of
from parvis.activities.models import (
    Activity,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
    UnitDay,
)
from parvis.activities.services import (
    closures_of,
    waiting_ranks,
    why_not_bookable,
    why_not_cancellable,
)
from parvis.communes.dates import monday_of
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared
from parvis.families.custody import Plan
from parvis.families.models import CustodySide, FamilyAccess, MemberKind, Personne
from parvis.families.selectors_citizen import _belongs, _linked_families, linked_children_q
from parvis.ids import parse_id

WEEKDAY_LABELS = [
    gettext_lazy("lundi"),
    gettext_lazy("mardi"),
    gettext_lazy("mercredi"),
    gettext_lazy("jeudi"),
    gettext_lazy("vendredi"),
    gettext_lazy("samedi"),
    gettext_lazy("dimanche"),
]


# --- « Vérification des inscriptions » ---------------------------------------------------------


@dataclass
class ChildInscriptions:
    child: Personne
    inscriptions: list[Inscription] = field(default_factory=list)

    @property
    def accepted(self) -> list[Inscription]:
        return [i for i in self.inscriptions if i.status == InscriptionStatus.ACCEPTEE]


def children_inscriptions(*, user: User, commune: Commune) -> list[ChildInscriptions]:
    """Each child of the account's families with their inscriptions: two queries."""
    children = list(
        Personne.objects.filter(
            linked_children_q(user=user, commune=commune),
            commune=commune,
            kind=MemberKind.ENFANT,
        )
        .select_related("famille")
        .order_by("famille__name", "birth_date", "first_names", "pk")
    )
    inscriptions = Inscription.objects.filter(
        commune=commune, child__in=[c.pk for c in children]
    ).select_related("activity", "demande")
    by_child = defaultdict(list)
    for inscription in sorted(
        inscriptions, key=lambda i: (i.activity.position, i.activity.name, i.pk)
    ):
        by_child[inscription.child_id].append(inscription)
    return [ChildInscriptions(child=c, inscriptions=by_child[c.pk]) for c in children]


def offers_of(*, user: User, commune: Commune):
    """The offered seats of the families `user` is linked to in `commune`, soonest to expire
    first, with child, unit and activity: one query."""
    return (
        Reservation.objects.filter(
            commune=commune,
            famille__in=_linked_families(user=user, commune=commune),
            status=BookingStatus.PROPOSEE,
        )
        .select_related("child", "unit__activity")
        .order_by("offer_expires_at", "day", "pk")
    )


def offer_of(*, user: User, commune: Commune, pk) -> Reservation | None:
    """One offered seat of the account's families in this commune; None for anything else
    (another family's, another commune's, not an offer): the views answer 404."""
    pk = parse_id(pk)
    if pk is None:
        return None
    return offers_of(user=user, commune=commune).filter(pk=pk).first()


def offers_count(*, user: User, commune: Commune) -> int:
    """How many seats the waiting list offers the account's families in this commune (the
    « Activités » page's link to them): one query."""
    return offers_of(user=user, commune=commune).count()


# --- Which child and activity ------------------------------------------------------------------


@dataclass
class Target:
    activity: Activity
    child: Personne
    inscription: Inscription | None
    # A child in shared custody: its rule, and which of its two households the account is of.
    custody: Plan | None = None
    viewer_sides: frozenset[str] = frozenset()

    def billed_to(self, day: date) -> str:
        """Who the child's `day` of the activity will be billed to, as the account reads it
        (a child in shared custody), else ""."""
        if self.custody is None:
            return ""
        shares = self.custody.shares(day, self.activity.pk)
        if len(shares) > 1:
            mine = next(s for s in shares if s.side in self.viewer_sides)
            percent = f"{mine.percent.normalize():f}".replace(".", ",")
            return _("Partagé : %(percent)s %% facturé à votre foyer") % {"percent": percent}
        if shares[0].side in self.viewer_sides:
            return _("Facturé à votre foyer")
        return _("Facturé à l'autre parent")

    @property
    def registered(self) -> bool:
        return (
            self.inscription is not None and self.inscription.status == InscriptionStatus.ACCEPTEE
        )


# The one-child calendar's reads, their SQL written once per thread (parvis.communes.prepared,
# issue 18 §4): the ORM built them on every request of the calendar (0.4–1.5 ms of CPU each).
# The commune is the scope's (each commune table's manager), never named here.
# The same children as linked_children_q: a FamilyAccess names a family of its commune.
_CHILD = Prepared(
    lambda user_id, child_pk: Personne.objects.filter(
        Q(famille__in=FamilyAccess.objects.filter(user_id=user_id).values("famille_id"))
        | Q(
            custody__other_famille__in=FamilyAccess.objects.filter(user_id=user_id).values(
                "famille_id"
            )
        ),
        pk=child_pk,
        kind=MemberKind.ENFANT,
    ).select_related("famille", "custody")
)
_ACTIVITY = Prepared(lambda slug: Activity.objects.filter(slug=slug))
_INSCRIPTION = Prepared(
    lambda child_id, activity_id: Inscription.objects.filter(
        child_id=child_id, activity_id=activity_id
    )
)
_UNITS = Prepared(lambda activity_id: Unit.objects.filter(activity_id=activity_id))
# By (child, unit, day), the unique constraint's index: SQLite without statistics took the
# commune's index for `child = … AND commune_id = …` and read every booking of the commune
# (20–30 ms at 200 families). The model's order, which joins the units, stays: without that
# join SQLite takes the commune's index again (test_default_views).
_CHILD_BOOKINGS = Prepared(
    lambda child_id, unit_ids, start, end: Reservation.objects.filter(
        child_id=child_id, unit__in=unit_ids, day__range=(start, end)
    ).values_list("pk", "child_id", "unit_id", "day", "status")
)


def booking_target(*, user: User, commune: Commune, activity_slug: str, child_pk) -> Target | None:
    """The activity (of this commune) and the child (of one of the account's families) a
    calendar is about; None for anything else. Three queries, each compiled once (`commune` is
    the scope they run in). (Every calendar request starts here: the account's families are one
    subquery of FamilyAccess, not linked_children_q's two levels, and the commune is the
    request's, not joined again.)"""
    child_pk = parse_id(child_pk)
    if child_pk is None or not _belongs(user, commune) or not isinstance(activity_slug, str):
        return None
    child = _CHILD.first(user.pk, child_pk, commune_id=commune.pk)
    if child is None:
        return None
    activity = _ACTIVITY.first(activity_slug, commune_id=commune.pk)
    if activity is None:
        return None
    child.commune = activity.commune = commune  # the scope: the same row
    inscription = _INSCRIPTION.first(child.pk, activity.pk, commune_id=commune.pk)
    if inscription is not None:
        inscription.child, inscription.activity = child, activity
    target = Target(activity=activity, child=child, inscription=inscription)
    if getattr(child, "custody", None) is not None:  # two more queries, shared children only
        target.custody = plan_of(child)
        linked = set(_linked_families(user=user, commune=commune).values_list("pk", flat=True))
        target.viewer_sides = frozenset(
            side
            for side, famille_id in (
                (CustodySide.FOYER, child.famille_id),
                (CustodySide.AUTRE, child.custody.other_famille_id),
            )
            if famille_id in linked
        )
    return target


def unit_ids(*, target: Target) -> set[int]:
    """The ids of the activity's units, the only units a posted calendar may name (the target is
    already scoped to the commune and the account): one query."""
    return set(Unit.objects.filter(activity=target.activity).values_list("pk", flat=True))


def booked_keys(*, target: Target) -> set[tuple[int, date]]:
    """The (unit id, day) pairs the child has a booking on (any state) in the activity: what
    the weeks a calendar form did not show keep, with the changes it carried: one query."""
    return set(
        Reservation.objects.filter(child=target.child, unit__activity=target.activity).values_list(
            "unit_id", "day"
        )
    )


# --- The calendar --------------------------------------------------------------------------------


@dataclass(slots=True)  # no __dict__: a household's school year is thousands of cells
class Cell:
    """One unit on one day: whether it is booked (and how), whether it can be changed, and
    why not when it cannot."""

    unit: Unit
    day: date
    status: str | None = None  # BookingStatus of the existing reservation
    rank: int | None = None  # waiting-list rank
    reason: str | None = None  # why it cannot be changed (None: it can)
    note: str | None = None  # said next to a changeable day (full: waiting list)
    wanted: bool = False  # checked in the form shown
    problem: str | None = None  # refused by « Valider »
    reservation_id: int | None = None  # the booking shown (an offered seat links to it)

    @property
    def key(self) -> str:
        return f"{self.unit.pk}:{self.day.isoformat()}"

    @property
    def booked(self) -> bool:
        return self.status is not None

    @property
    def editable(self) -> bool:
        return self.reason is None

    @property
    def changed(self) -> str | None:
        """« ajout » or « retrait » when the form shown differs from what is booked."""
        if self.wanted and not self.booked:
            return "ajout"
        if self.booked and not self.wanted:
            return "retrait"
        return None

    @property
    def pending(self) -> bool:
        return self.status == BookingStatus.EN_ATTENTE

    @property
    def status_label(self) -> str:
        if self.status == BookingStatus.LISTE_ATTENTE:
            return _("liste d'attente, rang %(rank)s") % {"rank": self.rank}
        return str(BookingStatus(self.status).label) if self.status else ""


@dataclass
class Day:
    day: date
    cells: list[Cell]

    @property
    def weekday_label(self) -> str:
        return str(WEEKDAY_LABELS[self.day.weekday()])


@dataclass
class Week:
    monday: date
    days: list[Day | None]  # one per column (None: outside the period)
    billed_to: str = ""  # a child in shared custody: who the week is billed to

    @property
    def key(self) -> str:
        return self.monday.isoformat()

    def cells(self):
        return [cell for day in self.days if day for cell in day.cells]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def changeable(self) -> bool:
        """Whether a day of the week can still be booked or cancelled."""
        return any(cell.editable for cell in self.cells())


@dataclass
class Calendar:
    activity: Activity
    units: list[Unit]
    columns: list[int]  # weekdays shown (0 = Monday)
    weeks: list[Week]
    opening: int | None = None  # the opening week's index, when worked out with a window

    @property
    def column_labels(self) -> list[str]:
        return [str(WEEKDAY_LABELS[d]) for d in self.columns]

    def cells(self):
        return [cell for week in self.weeks for cell in week.cells()]

    def cell_map(self) -> dict[tuple[int, date], Cell]:
        return {(cell.unit.pk, cell.day): cell for cell in self.cells()}

    def opening_week(self, *, today: date) -> int:
        """The index of the week the calendar opens on (the weeks before it are folded): the
        first one with a day that can still change; when none can (not registered, file
        incomplete), today's week; when the period is over, the first (nothing to fold)."""
        if self.opening is not None:  # worked out with a window (see `calendar`)
            return self.opening
        return opening_week(self.weeks, today=today)


def opening_week(weeks: list, *, today: date) -> int:
    """See Calendar.opening_week; `weeks` have `changeable` and `sunday` (the household grid's
    too)."""
    for index, week in enumerate(weeks):
        if week.changeable:
            return index
    for index, week in enumerate(weeks):
        if week.sunday >= today:
            return index
    return 0


class Booking(NamedTuple):
    """What the calendars need of a Reservation (fill_cell and waiting_ranks read it): a plain
    row, not a model (a school year of three children is about a thousand bookings)."""

    pk: int
    child_id: int
    unit_id: int
    day: date
    status: str


# The answers of DayRules shared by every request of the same minute (issue 18 §4: a calendar
# page asks them for about a hundred cells, the household grid for several hundred, and a
# registration rush asks the same ones for every family): a rule's answer changes only when
# `now` passes a deadline or an opening, and those fall on whole minutes (the rules' « HH:MM »,
# a unit's start time in whole minutes), so every `now` of a minute gets the same answers. Keyed
# by everything the rules read (the activity's rules, period and zone, the unit's start time
# and weekdays, the day's closure, the language). A new minute drops the past minutes' keys; at
# most SHARED_KEYS keys (a thousand communes' activities in one minute), the oldest dropped first.
_SHARED: dict[tuple, tuple[dict, dict, dict]] = {}
_SHARED_MINUTE: datetime | None = None
SHARED_KEYS = 4096


def _shared_answers(activity: Activity, now: datetime) -> tuple[dict, dict, dict]:
    key = (
        activity.pk, activity.start, activity.end, activity.runs,
        activity.commune.holiday_zone, activity.requires_complete_file,
        json.dumps([activity.booking_opens, activity.booking_deadline, activity.cancel_deadline],
                   sort_keys=True),
        now.replace(second=0, microsecond=0), get_language(),
    )  # fmt: skip
    answers = _SHARED.get(key)
    if answers is None:
        global _SHARED_MINUTE
        minute = key[-2]
        if minute != _SHARED_MINUTE:
            _SHARED.clear()  # a new minute: the past ones' answers serve no more
            _SHARED_MINUTE = minute
        elif len(_SHARED) >= SHARED_KEYS:
            _SHARED.pop(next(iter(_SHARED), None), None)  # the oldest
        answers = _SHARED[key] = ({}, {}, {})
    return answers


class DayRules:
    """Why a unit's day cannot be booked or cancelled at `now`, and whether it is full: what
    depends only on (unit, day), worked out once per activity and minute and kept, so a
    household grid showing the same days for three children, and every family's calendar of
    the same minute, do the work once (the rules themselves are services.why_not_bookable /
    why_not_cancellable, as « Valider » applies them)."""

    def __init__(self, activity: Activity, *, now: datetime, closures: dict, full: set):
        self.activity, self.now, self.closures, self.full = activity, now, closures, full
        self._bookable, self._cancellable, self._closed = _shared_answers(activity, now)
        self._own: tuple[dict, dict, dict] | None = None  # a unit starting within a minute

    def _answers(self, unit: Unit) -> tuple[dict, dict, dict]:
        starts = unit.starts_at
        if starts is not None and (starts.second or starts.microsecond):
            if self._own is None:
                self._own = ({}, {}, {})
            return self._own
        return self._bookable, self._cancellable, self._closed

    def bookable(self, unit: Unit, day: date, *, registered: bool, file_complete: bool):
        answers = self._answers(unit)[0]
        key = (
            unit.pk, unit.starts_at, tuple(unit.weekdays), day, self.closures.get(day),
            registered, file_complete,
        )  # fmt: skip
        if key not in answers:
            answers[key] = why_not_bookable(
                activity=self.activity, unit=unit, day=day, now=self.now, closures=self.closures,
                registered=registered, file_complete=file_complete,
            )  # fmt: skip
        return answers[key]

    def cancellable(self, unit: Unit, day: date):
        answers = self._answers(unit)[1]
        key = (unit.pk, unit.starts_at, day)
        if key not in answers:
            answers[key] = why_not_cancellable(
                activity=self.activity, unit=unit, day=day, now=self.now
            )
        return answers[key]

    def closed(self, unit: Unit, day: date):
        """Why the unit does not run on `day` (holiday, closure, weekday), or None."""
        answers = self._answers(unit)[2]
        key = (unit.pk, tuple(unit.weekdays), day, self.closures.get(day))
        if key not in answers:
            activity = self.activity
            answers[key] = closed_reason(
                day, zone=activity.commune.holiday_zone or "C", weekdays=unit.weekdays,
                during=activity.runs, start=activity.start, end=activity.end,
                closures=self.closures,
            )  # fmt: skip
        return answers[key]


# full_days's query, its SQL written once (the seats' counters of the units with a capacity).
_TAKEN = Prepared(
    lambda unit_ids, start, end: UnitDay.objects.filter(
        unit_id__in=unit_ids, day__range=(start, end)
    ).values_list("unit_id", "day", "taken")
)


def full_days(
    units: list[Unit], start: date, end: date, *, commune_id: int | None = None
) -> set[tuple[int, date]]:
    """The (unit id, day) whose seats are all taken between `start` and `end`: one query (none
    when no unit has a capacity); `commune_id`: read in that commune's scope."""
    seats = {u.pk: u.seats for u in units if u.seats is not None}
    if not seats:
        return set()
    rows = _TAKEN.all(tuple(sorted(seats)), start, end, commune_id=commune_id)
    return {(unit_id, day) for unit_id, day, taken in rows if taken >= seats[unit_id]}


def fill_cell(
    cell: Cell,
    *,
    rules: DayRules,
    reservation: Reservation | None,
    rank: int | None,
    registered: bool,
    file_complete: bool,
    wanted: bool | None = None,
) -> Cell:
    """The state of `cell` (booked and how, why it cannot be changed, full), and whether it is
    checked: `wanted` for a changeable cell, else (or when None) what is booked."""
    unit, day = cell.unit, cell.day
    if reservation is not None:
        cell.status = reservation.status
        cell.reservation_id = reservation.pk
        cell.rank = rank
        cell.reason = rules.cancellable(unit, day)
    else:
        cell.reason = rules.bookable(unit, day, registered=registered, file_complete=file_complete)
        if cell.reason is None and (unit.pk, day) in rules.full:
            cell.note = _("complet : une réservation irait en liste d'attente")
    if cell.reason is None and wanted is not None:
        cell.wanted = wanted
    else:
        cell.wanted = cell.booked
    return cell


# The weeks a calendar page of a few weeks reads past them (see `calendar`).
WINDOW_SLACK = 4


class _CellsData:
    """What the cells of a child's days need, read for a span of days and extended on demand:
    the closures, the child's bookings (plain rows, by (unit id, day)) and their waiting ranks,
    the full days, and the day rules that use them (DayRules keeps the closures and full days
    it was given: they are extended in place). Three or four queries a span."""

    def __init__(self, *, target: Target, units: list[Unit], now: datetime):
        self.target, self.units = target, units
        self.last: date | None = None
        self.booked: dict[tuple[int, date], Booking] = {}
        self.ranks: dict[int, int] = {}
        self.rules = DayRules(target.activity, now=now, closures={}, full=set())

    def extend(self, first: date, last: date) -> None:
        activity = self.target.activity
        commune_id = activity.commune_id
        self.rules.closures.update(closures_of(activity, first, last))
        unit_ids = tuple(sorted(unit.pk for unit in self.units))
        rows = (
            _CHILD_BOOKINGS.all(self.target.child.pk, unit_ids, first, last, commune_id=commune_id)
            if unit_ids
            else []
        )
        reservations = [Booking(*row) for row in rows]
        self.ranks.update(waiting_ranks(reservations, commune_id=commune_id))
        self.booked.update({(r.unit_id, r.day): r for r in reservations})
        self.rules.full.update(full_days(self.units, first, last, commune_id=commune_id))
        self.last = last


def calendar(
    *,
    target: Target,
    now: datetime,
    file_complete: bool = True,
    wanted: set | None = None,
    window: tuple[date | None, int] | None = None,
) -> Calendar:
    """The whole period of `target.activity` for `target.child`, a week per row: four queries
    whatever the number of weeks (five when some bookings wait). `wanted` (a set of (unit id,
    day)) is what the form shown checks among the changeable cells; None: what is booked.
    `window` (a day of the first week to show, None for the opening week; how many weeks) works
    out only the weeks a page of that many weeks shows and those from today's to the first that
    can change (its opening), and reads only their days (three or four queries more when the
    opening lies past them): the others are left empty (nothing is changed there: a GET's page,
    not a posted form)."""
    activity = target.activity
    units = _UNITS.all(activity.pk, commune_id=activity.commune_id)
    for unit in units:
        unit.activity = activity  # the filter: the same row
    today = timezone.localtime(now).date()
    # The days read: the whole period; for a window, from the Monday of today's week (where the
    # opening is looked for), of the week asked, or of the period's start once it is over (its
    # first weeks are shown then), to WINDOW_SLACK weeks past a window from there (a holiday or
    # a deadline puts the opening two or three weeks after today's) or to the week asked's
    # window; the rest of the period only if the opening lies beyond (two reads then).
    first_day, last_day = activity.start, activity.end
    if window is not None:
        start, size = window
        if today <= activity.end:
            first_day = max(first_day, today)
        if start is not None:
            first_day = min(first_day, start)
        first_day = max(monday_of(first_day), activity.start)
        last_day = first_day + timedelta(weeks=size + WINDOW_SLACK, days=-1)
        if start is not None:
            last_day = max(last_day, start + timedelta(weeks=size, days=-start.weekday() - 1))
        last_day = min(last_day, activity.end)
    read = _CellsData(target=target, units=units, now=now)
    read.extend(first_day, last_day)
    rules, booked, ranks = read.rules, read.booked, read.ranks
    columns = sorted({d for unit in units for d in unit.weekdays}) or [0, 1, 2, 3, 4]

    def week_of(monday: date) -> Week:
        if read.last < min(monday + timedelta(days=6), activity.end):
            read.extend(read.last + timedelta(days=1), activity.end)
        days = []
        for weekday in columns:
            day = monday + timedelta(days=weekday)
            if not activity.start <= day <= activity.end:
                days.append(None)
                continue
            cells = []
            for unit in units:
                reservation = booked.get((unit.pk, day))
                cells.append(
                    fill_cell(
                        Cell(unit=unit, day=day), rules=rules, reservation=reservation,
                        rank=ranks.get(reservation.pk) if reservation else None,
                        registered=target.registered, file_complete=file_complete,
                        wanted=None if wanted is None else (unit.pk, day) in wanted,
                    )
                )  # fmt: skip
            days.append(Day(day=day, cells=cells))
        billed_to = target.billed_to(max(monday, activity.start))
        return Week(monday=monday, days=days, billed_to=billed_to)

    first_monday = monday_of(activity.start)
    mondays = []
    while first_monday + timedelta(days=7 * len(mondays)) <= activity.end:
        mondays.append(first_monday + timedelta(days=7 * len(mondays)))
    cal = Calendar(activity=activity, units=units, columns=columns, weeks=[])
    if window is None:
        cal.weeks = [week_of(monday) for monday in mondays]
        return cal
    # No week before today's can change (its days' deadlines are past): the opening is the
    # first that can from today's on, else today's week (else the first, the period over).
    cal.weeks = [Week(monday=monday, days=[]) for monday in mondays]
    cal.opening = 0
    for index, monday in enumerate(mondays):
        if monday + timedelta(days=6) < today:
            continue
        cal.weeks[index] = week_of(monday)
        if cal.weeks[index].changeable:
            cal.opening = index
            break
    else:
        cal.opening = next(
            (i for i, monday in enumerate(mondays) if monday + timedelta(days=6) >= today), 0
        )
    start, size = window
    first, last = window_bounds(mondays, opening=cal.opening, start=start, size=size)
    for index in range(first, last):
        if not cal.weeks[index].days:
            cal.weeks[index] = week_of(mondays[index])
    return cal


def window_bounds(
    mondays: list[date], *, opening: int, start: date | None, size: int
) -> tuple[int, int]:
    """The indexes [first, last) of the `size` weeks a calendar page shows: from the week of
    `start` (a day of it), else from the opening week."""
    first = opening
    if start is not None:
        first = next(
            (i for i, m in enumerate(mondays) if m <= start <= m + timedelta(days=6)), opening
        )
    return first, min(first + size, len(mondays))


def booking_famille(target: Target):
    """The household that books through this account: the child's own, or, for a shared
    child whose account is only of its other household (« garde partagée »), that other
    household (one query then)."""
    custody = getattr(target.child, "custody", None)
    if custody is not None and target.viewer_sides == frozenset({CustodySide.AUTRE}):
        return custody.other_famille
    return target.child.famille


def file_complete(*, target: Target) -> bool:
    """Whether the booking household's administrative file for the activity's school year is
    complete (asked only when the activity requires it: three queries then, four for the other
    household of a shared child, none otherwise). The other parent books on their own file,
    not on the child's household's (issue 19 §2)."""
    if not target.activity.requires_complete_file:
        return True
    from parvis.families.documents import school_year_of
    from parvis.families.selectors_documents import dossier

    state = dossier(
        famille=booking_famille(target), school_year=school_year_of(target.activity.start)
    )
    return state.is_complete
