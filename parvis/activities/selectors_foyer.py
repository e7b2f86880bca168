"""Reads for the household grid (« Toutes les réservations du foyer »): every child of the
account's households, every activity each one is registered to (inscription accepted), on one
page, for a month, a quarter or the school year; and the grid's two tools, « Copier la semaine »
and « Appliquer un modèle de semaine », which only change what the form shows (nothing is saved
before the basket's « Valider »).

Scoped like the one-child calendar (parvis.activities.selectors): only the children of the
families the account is linked to, only the activities of the commune of the URL. Each cell has
the states and reasons of the one-child calendar, computed by the same selectors.fill_cell and
DayRules: what depends only on (unit, day) is worked out once per activity and reused for every
child. A constant number of queries, whatever the number of children, activities and weeks."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import NamedTuple

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.accounts.models import User
from parvis.activities.models import (
    Activity,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.selectors import (
    WEEKDAY_LABELS,
    Cell,
    DayRules,
    fill_cell,
    full_days,
)
from parvis.activities.services import closures_by_activity, waiting_ranks
from parvis.communes.dates import first_of_month, monday_of, month_bounds
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared
from parvis.families.models import Famille, FamilyAccess, Personne, SharedCustody

MOIS, TRIMESTRE, ANNEE = "mois", "trimestre", "annee"
VUES = {
    MOIS: gettext_lazy("Mois"),
    TRIMESTRE: gettext_lazy("Trimestre"),
    ANNEE: gettext_lazy("Année scolaire"),
}
SCHOOL_YEAR_START_MONTH = 9
MAX_YEARS = 10  # a period asked further from today is today's (and no date overflows)
Key = tuple[int, int, date]  # (child id, unit id, day)


# --- The period shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """« Mois » (a calendar month), « Trimestre » (three months from the one chosen) or « Année
    scolaire » (September to August): `start`..`end`, and where « précédent / suivant » lead."""

    vue: str
    start: date
    end: date
    previous: date
    next: date

    @property
    def label(self) -> str:
        if self.vue == MOIS:
            return capfirst(date_format(self.start, "F Y"))
        if self.vue == TRIMESTRE:
            return _("De %(first)s à %(last)s") % {
                "first": date_format(self.start, "F Y"),
                "last": date_format(self.end, "F Y"),
            }
        return _("Année scolaire %(first)s-%(last)s") % {
            "first": self.start.year,
            "last": self.end.year,
        }

    @property
    def previous_label(self) -> str:
        return {
            MOIS: _("Mois précédent"),
            TRIMESTRE: _("Trimestre précédent"),
            ANNEE: _("Année scolaire précédente"),
        }[self.vue]

    @property
    def next_label(self) -> str:
        return {
            MOIS: _("Mois suivant"),
            TRIMESTRE: _("Trimestre suivant"),
            ANNEE: _("Année scolaire suivante"),
        }[self.vue]


def period(vue: str | None, debut: date | None, *, today: date) -> Period:
    """The period `vue` (default « mois ») that starts at or contains `debut` (default, or more
    than MAX_YEARS away: today)."""
    vue = vue if vue in VUES else MOIS
    day = debut if debut is not None and abs(debut.year - today.year) <= MAX_YEARS else today
    if vue == ANNEE:
        year = day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1
        start = date(year, SCHOOL_YEAR_START_MONTH, 1)
        last = month_bounds(first_of_month(start, 11))[1]
        return Period(vue, start, last, first_of_month(start, -12), first_of_month(start, 12))
    start = first_of_month(day)
    months = 3 if vue == TRIMESTRE else 1
    last = month_bounds(first_of_month(start, months - 1))[1]
    return Period(vue, start, last, first_of_month(start, -months), first_of_month(start, months))


# --- The household: its children and their activities -------------------------------------------


@dataclass
class Line:
    """A child and an activity they may book (inscription accepted), with its units."""

    child: Personne
    activity: Activity
    units: list[Unit] = field(default_factory=list)
    # The household that books: the child's own, or for a shared child whose account is only of
    # its other household, that one: its administrative file is the one checked (issue 19 §2).
    famille_id: int | None = None

    def __post_init__(self):
        if self.famille_id is None:
            self.famille_id = self.child.famille_id

    @property
    def key(self) -> tuple[int, int]:
        return (self.child.pk, self.activity.pk)


@dataclass
class Household:
    """The lines, read once per request and not changed afterwards: what is worked out of
    them is kept (the grid, its tools and the basket asked for the bounds, the columns and the
    activities a dozen times a request)."""

    lines: list[Line]

    @cached_property
    def children(self) -> list[Personne]:
        seen = {}
        for line in self.lines:
            seen.setdefault(line.child.pk, line.child)
        return list(seen.values())

    @cached_property
    def activities(self) -> list[Activity]:
        seen = {}
        for line in self.lines:
            seen.setdefault(line.activity.pk, line.activity)
        return list(seen.values())

    @cached_property
    def columns(self) -> list[int]:
        """The weekdays shown (0 = Monday): those of every unit."""
        days = {d for line in self.lines for unit in line.units for d in unit.weekdays}
        return sorted(days) or [0, 1, 2, 3, 4]

    @cached_property
    def bounds(self) -> tuple[date, date] | None:
        """The first and last day any of the activities runs (None without activities)."""
        if not self.lines:
            return None
        return (min(a.start for a in self.activities), max(a.end for a in self.activities))


# The household's three reads, their SQL written once per thread (parvis.communes.prepared): the
# ORM built them on every request of the grid, the tools and the basket (about 3 ms of CPU on
# PostgreSQL, more than the queries). The commune is the scope's (each commune table's manager),
# never named here: a statement compiled for one commune runs for the next with its own id.
_LINKED = Prepared(
    lambda user_id: Famille.objects.filter(
        pk__in=FamilyAccess.objects.filter(user_id=user_id).values("famille_id")
    ).values_list("pk", flat=True)
)
# The children as a union of two index lookups (the families' own, the shared ones the families
# are the other household of): an OR across the custody's outer join read every inscription of
# the commune (make bench-scale, README « A thousand communes »).
_INSCRIPTIONS = Prepared(
    lambda linked: Inscription.objects.filter(
        child__in=Personne.objects.filter(famille_id__in=linked)
        .order_by()
        .values("pk")
        .union(
            SharedCustody.objects.filter(other_famille_id__in=linked).order_by().values("child_id")
        ),
        status=InscriptionStatus.ACCEPTEE,
    )
    .select_related("child__famille", "child__custody", "activity")
    .order_by(
        "child__famille__name", "child__birth_date", "child__first_names", "child__pk",
        "activity__position", "activity__name", "activity__pk",
    )
)  # fmt: skip
_UNITS = Prepared(lambda activity_ids: Unit.objects.filter(activity__in=activity_ids))


def household(*, user: User, commune: Commune) -> Household:
    """The children of the account's families in `commune` with the activities they may book:
    three queries, whatever the number of children and activities, each compiled once
    (`commune` is the scope they run in: each table's rows of that commune, joins included).
    (The account's families are read first, as ids: the same children as
    families.selectors_citizen.linked_children_q; each activity's commune is `commune` itself,
    not joined again. Every page of the household grid starts here.)"""
    if not (user.is_authenticated and user.commune_id == commune.pk):
        return Household(lines=[])  # families.selectors_citizen._linked_families: none
    linked = set(_LINKED.all(user.pk, commune_id=commune.pk))
    if not linked:
        return Household(lines=[])
    inscriptions = _INSCRIPTIONS.all(tuple(sorted(linked)), commune_id=commune.pk)
    for inscription in inscriptions:
        inscription.activity.commune = commune  # the scope: the same row
    units = defaultdict(list)
    activity_ids = tuple(sorted({i.activity_id for i in inscriptions}))
    for unit in _UNITS.all(activity_ids, commune_id=commune.pk) if activity_ids else ():
        units[unit.activity_id].append(unit)

    def booking_famille_id(child: Personne) -> int:
        custody = getattr(child, "custody", None)
        if custody is not None and child.famille_id not in linked:
            return custody.other_famille_id
        return child.famille_id

    return Household(
        lines=[
            Line(
                child=i.child, activity=i.activity, units=units[i.activity_id],
                famille_id=booking_famille_id(i.child),
            )
            for i in inscriptions
        ]
    )  # fmt: skip


def files_complete(lines: list[Line], *, today: date) -> dict[tuple[int, int], bool]:
    """What `grid` reads of the administrative files, alone (« Valider » reads no grid)."""
    return _files_complete(lines, today=today)


def _files_complete(lines: list[Line], *, today: date) -> dict[tuple[int, int], bool]:
    """(family id, activity id) → whether the family's administrative file for the activity's
    school year is complete, for the activities that require it: four queries then (the same
    reading as selectors_documents.dossier, for every family at once), none otherwise."""
    from parvis.families.documents import dossier_state, school_year_of
    from parvis.families.models import Document, QuotientFamilial, RequiredDocument

    needing = [line for line in lines if line.activity.requires_complete_file]
    if not needing:
        return {}
    years = {school_year_of(line.activity.start) for line in needing}
    families = {line.famille_id for line in needing}
    requirements = list(
        RequiredDocument.objects.filter(
            commune_id=needing[0].activity.commune_id, school_year__in=years
        )
        .select_related("service")
        .order_by("position", "pk")
    )
    members = list(
        Personne.objects.filter(famille_id__in=families).order_by("kind", "birth_date", "pk")
    )
    documents = list(Document.objects.filter(famille_id__in=families).select_related("personne"))
    # A current QF fetched from API Particulier stands for the tax notice (issue 20 §2).
    quotients = list(
        QuotientFamilial.objects.filter(
            famille_id__in=families, valid_from__lte=today, valid_until__gte=today
        )
    )
    result = {}
    for line in needing:
        year, famille_id = school_year_of(line.activity.start), line.famille_id
        result[(famille_id, line.activity.pk)] = dossier_state(
            requirements=[r for r in requirements if r.school_year == year],
            members=[m for m in members if m.famille_id == famille_id],
            documents=[d for d in documents if d.famille_id == famille_id],
            school_year=year,
            today=today,
            quotients=[q for q in quotients if q.famille_id == famille_id],
        ).is_complete
    return result


# --- The grid ------------------------------------------------------------------------------------


@dataclass(slots=True)
class FoyerCell(Cell):
    """A cell of the one-child calendar, for one of the household's children."""

    child: Personne | None = None
    ident: Key | None = None  # (child id, unit id, day)

    @property
    def key(self) -> str:
        return f"{self.ident[0]}:{self.ident[1]}:{self.day.isoformat()}"


@dataclass(slots=True)
class Group:
    """One child's cells on a day."""

    child: Personne
    cells: list[FoyerCell]


@dataclass(slots=True)
class FoyerDay:
    day: date
    groups: list[Group]
    # Said once for the day when no cell of it can change, all for the same reason (a holiday).
    common_reason: str | None = None

    @property
    def weekday_label(self) -> str:
        return str(WEEKDAY_LABELS[self.day.weekday()])

    @property
    def label(self) -> str:
        """« lundi 30/11/2026 », for the labels of its cells."""
        return f"{self.weekday_label} {self.day.strftime('%d/%m/%Y')}"


@dataclass
class FoyerWeek:
    monday: date
    days: list[FoyerDay | None]  # one per column (None: outside the period shown)

    @property
    def key(self) -> str:
        return self.monday.isoformat()

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def changeable(self) -> bool:
        """Whether a day of the week can still be booked or cancelled, for any child."""
        return any(
            cell.editable for day in self.days if day for group in day.groups
            for cell in group.cells
        )  # fmt: skip


@dataclass
class ToolResult:
    """What a tool did: cells changed, cells already so, and the locked ones it had to leave
    (reason → how many)."""

    changed: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    @property
    def skipped_reasons(self) -> list[tuple[str, int]]:
        return sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Grid:
    household: Household
    start: date  # the cells read, from `start` to `end` (at least the period shown)
    end: date
    cells: dict[Key, FoyerCell]
    rules: dict[int, DayRules]  # activity id → its day rules
    files: dict[tuple[int, int], bool]

    def file_complete(self, line: Line) -> bool:
        return self.files.get((line.famille_id, line.activity.pk), True)

    @property
    def columns(self) -> list[int]:
        return self.household.columns

    @property
    def column_labels(self) -> list[str]:
        return [str(WEEKDAY_LABELS[d]) for d in self.columns]

    def changes(self) -> list[FoyerCell]:
        """The cells whose checked state differs from what is booked, by child, activity, day
        (Cell.changed, without its two properties' calls for each cell of the period)."""
        return [cell for cell in self.cells.values() if cell.wanted != (cell.status is not None)]

    def set_wanted(self, *, add: set, remove: set, checked: set | None = None, shown=None):
        """The form's state: the cells shown (`shown` = (first day, last day)) follow `checked`
        (the grid's ticks), the others what is booked changed by `add` and `remove` (the changes
        carried from another period or from the basket). Locked cells stay as booked."""
        for ident, cell in self.cells.items():
            if not cell.editable:
                continue
            if checked is not None and shown and shown[0] <= cell.day <= shown[1]:
                cell.wanted = ident in checked
            elif cell.booked:
                cell.wanted = ident not in remove
            else:
                cell.wanted = ident in add

    def weeks(self, first: date, last: date) -> list[FoyerWeek]:
        """The rows shown from `first` to `last`, a week per row, each day the children's cells
        (a unit only on its weekdays)."""
        columns = self.columns
        by_day = defaultdict(list)
        for cell in self.cells.values():
            if first <= cell.day <= last:
                by_day[cell.day].append(cell)
        weeks = []
        monday = monday_of(first)
        while monday <= last:
            days = []
            for weekday in columns:
                day = monday + timedelta(days=weekday)
                if not first <= day <= last:
                    days.append(None)
                    continue
                days.append(_day(day, by_day.get(day, [])))
            weeks.append(FoyerWeek(monday=monday, days=days))
            monday += timedelta(days=7)
        return weeks

    # --- The tools: they change what the form shows, only on cells that can change -----------

    def _apply(self, cell: FoyerCell | None, wanted: bool, result: ToolResult, *, why=None):
        if cell is None:
            if why:
                result.skipped[why] += 1
            return
        if cell.wanted == wanted:
            result.unchanged += 1
        elif cell.editable:
            cell.wanted = wanted
            result.changed += 1
        else:
            result.skipped[cell.reason] += 1

    def copy_week(self, monday: date, targets: list[date]) -> ToolResult:
        """« Copier la semaine »: the checked state of every cell of the week of `monday` (all
        children and units) onto the same weekday of each week of `targets` (their Mondays).
        A day the source week has no service (a holiday) copies nothing."""
        result = ToolResult()
        sources = [
            cell
            for cell in self.cells.values()
            if monday <= cell.day < monday + timedelta(days=7)
            and self.rules[cell.unit.activity_id].closed(cell.unit, cell.day) is None
        ]
        for target in targets:
            shift = target - monday
            for source in sources:
                day = source.day + shift
                self._apply(self.cells.get((source.child.pk, source.unit.pk, day)),
                            source.wanted, result)  # fmt: skip
        return result

    def apply_pattern(
        self, line: Line, units: list[Unit], *, weekdays: set[int], first: date, last: date,
        wanted: bool,
    ) -> ToolResult:  # fmt: skip
        """« Appliquer un modèle de semaine »: for `line`'s child and `units`, the days from
        `first` to `last` on `weekdays` become wanted (or not). A day a unit does not run is
        counted with its reason (« pas d'accueil : … »)."""
        result = ToolResult()
        rules = self.rules[line.activity.pk]
        complete = self.file_complete(line)
        child_id, by_id = line.child.pk, [(unit.pk, unit) for unit in units]
        day = max(first, line.activity.start)
        while day <= min(last, line.activity.end):
            if day.weekday() in weekdays:
                for unit_id, unit in by_id:
                    cell = self.cells.get((child_id, unit_id, day))
                    why = None
                    if cell is None and wanted:  # not a day of the unit: say why it is left
                        why = rules.bookable(unit, day, registered=True, file_complete=complete)
                    self._apply(cell, wanted, result, why=why)
            day += timedelta(days=1)
        return result


class Booking(NamedTuple):
    """What the grid needs of a Reservation (selectors.fill_cell and services.waiting_ranks
    read it)."""

    pk: int
    child_id: int
    unit_id: int
    day: date
    status: str


def _day(day: date, cells: list[FoyerCell]) -> FoyerDay:
    groups: list[Group] = []
    child_id = None
    for cell in cells:
        if child_id != cell.ident[0]:  # the child's id (a model's .pk is a property)
            child_id = cell.ident[0]
            groups.append(Group(child=cell.child, cells=[]))
        groups[-1].cells.append(cell)
    common = None
    if cells and all(c.reason is not None and c.status is None for c in cells):
        reasons = {c.reason for c in cells}
        if len(reasons) == 1:
            common = reasons.pop()
    return FoyerDay(day=day, groups=groups, common_reason=common)


# The grid's reads, their SQL written once per thread like the household's (the commune: the
# scope's, the activities' own commune).
# Plain rows, not models: a school year of three children is about a thousand bookings. The
# model's order joins the units: without it SQLite without statistics reads the commune's index,
# every booking of the commune (activities/tests/test_default_views).
_BOOKINGS = Prepared(
    lambda child_ids, unit_ids, start, end: Reservation.objects.filter(
        child__in=child_ids, unit__in=unit_ids, day__range=(start, end)
    ).values_list("pk", "child_id", "unit_id", "day", "status")
)


def grid(
    *, household: Household, now: datetime, start: date, end: date, today: date | None = None
) -> Grid:
    """The cells of every line of `household` from `start` to `end`, checked as booked: three
    to five queries (closures, reservations, waiting ranks when some are waiting, full days when
    a unit has seats; and three for the administrative files when an activity requires one),
    whatever the number of children, activities and weeks."""
    today = today or timezone.localdate()
    lines = household.lines
    activities = household.activities
    units = [unit for activity in activities for unit in _units_of(household, activity)]
    closures = closures_by_activity(activities, start, end)
    commune_id = activities[0].commune_id if activities else None
    child_ids = tuple(sorted({line.child.pk for line in lines}))
    unit_ids = tuple(sorted({unit.pk for unit in units}))
    rows = (
        _BOOKINGS.all(child_ids, unit_ids, start, end, commune_id=commune_id)
        if child_ids and unit_ids
        else []
    )
    reservations = [Booking(*row) for row in rows]
    ranks = waiting_ranks(reservations, commune_id=commune_id)
    booked = {(r.child_id, r.unit_id, r.day): r for r in reservations}
    full = full_days(units, start, end, commune_id=commune_id)
    rules = {
        activity.pk: DayRules(activity, now=now, closures=closures[activity.pk], full=full)
        for activity in activities
    }
    files = _files_complete(lines, today=today)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    cells = {}
    for line in lines:
        activity, child, child_id = line.activity, line.child, line.child.pk
        complete = files.get((line.famille_id, activity.pk), True)
        activity_rules = rules[activity.pk]
        first, last = max(start, activity.start), min(end, activity.end)
        for unit in line.units:
            unit_id, weekdays = unit.pk, set(unit.weekdays)
            for day in days:
                if day.weekday() not in weekdays or not first <= day <= last:
                    continue
                ident = (child_id, unit_id, day)
                reservation = booked.get(ident)
                cells[ident] = fill_cell(
                    FoyerCell(unit=unit, day=day, child=child, ident=ident),
                    rules=activity_rules, reservation=reservation,
                    rank=ranks.get(reservation.pk) if reservation is not None else None,
                    registered=True, file_complete=complete,
                )  # fmt: skip
    return Grid(household=household, start=start, end=end, cells=cells, rules=rules, files=files)


def _units_of(household: Household, activity: Activity) -> list[Unit]:
    for line in household.lines:
        if line.activity.pk == activity.pk:
            return line.units
    return []
