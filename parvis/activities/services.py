"""Writes on bookings: a family's basket validated in one transaction (every added day checked
against the rules, seats taken under a row lock, beyond capacity the waiting list), cancellations
within the deadline, and the waiting list's offers when seats are added. The rules are here; the
bookings' states and seat counters are written by reservations.move, their one owner."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.activities import reservations
from parvis.activities.calendar import closed_reason, is_working_day
from parvis.activities.models import (
    Activity,
    ActivityClosure,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.rules import PARIS, format_moment, is_open_at, moment
from parvis.activities.tasks import send_baskets_summary
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared, statement_cursor
from parvis.families.models import Famille, Personne
from parvis.tasks import enqueue_on_commit


class BasketRefused(Exception):
    """Some changes of a basket break a rule: nothing was saved. `problems` maps (unit id, day)
    to the reason, in French."""

    def __init__(self, problems: dict):
        super().__init__(problems)
        self.problems = problems


@dataclass
class BasketResult:
    added: list[Reservation] = field(default_factory=list)  # booked or pending
    waiting: list[Reservation] = field(default_factory=list)  # waiting list, with rank
    removed: list[tuple[Unit, date]] = field(default_factory=list)
    ranks: dict[int, int] = field(default_factory=dict)  # reservation id → waiting rank


# The days agents closed, read through one statement compiled once (the calendars read it on
# every request).
_CLOSURES = Prepared(
    lambda activity_ids, start, end: ActivityClosure.objects.filter(
        Q(activity__in=activity_ids) | Q(activity__isnull=True), day__range=(start, end)
    ).values_list("activity_id", "day", "reason")
)


def closures_by_activity(
    activities: list[Activity], start: date, end: date
) -> dict[int, dict[date, str]]:
    """Activity id → the days agents closed for it or for all, between `start` and `end`: one
    query for every activity, in the activities' commune."""
    if not activities:
        return {}
    rows = _CLOSURES.all(
        tuple(sorted({a.pk for a in activities})), start, end,
        commune_id=activities[0].commune_id,
    )  # fmt: skip
    return {
        activity.pk: {
            day: reason for activity_id, day, reason in rows if activity_id in (None, activity.pk)
        }
        for activity in activities
    }


def closures_of(activity: Activity, start: date, end: date) -> dict[date, str]:
    """The days agents closed for this activity or for all, between `start` and `end`."""
    return closures_by_activity([activity], start, end)[activity.pk]


def why_not_bookable(
    *,
    activity: Activity,
    unit: Unit,
    day: date,
    now: datetime,
    closures: dict[date, str],
    registered: bool,
    file_complete: bool = True,
) -> str | None:
    """None when `day` of `unit` can be booked at `now`, else why not (said next to the day)."""
    if not registered:
        return _("enfant non inscrit à cette activité")
    closed = _closed_text(activity, unit, day, closures)
    if closed is not None:
        return closed
    if activity.requires_complete_file and not file_complete:
        return _("dossier administratif incomplet")
    return _timing_text(activity, unit, day, now, is_working_day)


def _closed_text(activity: Activity, unit: Unit, day: date, closures: dict) -> str | None:
    """Why the unit does not run on `day` (why_not_bookable's words), or None."""
    closed = closed_reason(
        day,
        zone=activity.commune.holiday_zone or "C",
        weekdays=unit.weekdays,
        during=activity.runs,
        start=activity.start,
        end=activity.end,
        closures=closures,
    )
    if closed is not None:
        return _("pas d'accueil : %(reason)s") % {"reason": closed.reason}
    return None


def _timing_text(
    activity: Activity, unit: Unit, day: date, now: datetime, working: Callable[[date], bool]
) -> str | None:
    """Why `now` is before the opening or not before the deadline of `day` of `unit`, or
    None (why_not_bookable's words)."""
    if activity.booking_opens is not None:
        opens = moment(
            activity.booking_opens, day, starts_at=unit.starts_at, is_working_day=working
        )
        if now < opens:
            return _("réservations ouvertes à partir du %(moment)s") % {
                "moment": format_moment(opens)
            }
    deadline = moment(
        activity.booking_deadline, day, starts_at=unit.starts_at, is_working_day=working
    )
    if not is_open_at(now, deadline):
        return _("date limite dépassée (%(moment)s)") % {"moment": format_moment(deadline)}
    return None


def why_not_cancellable(*, activity: Activity, unit: Unit, day: date, now: datetime) -> str | None:
    return _cancel_text(activity, unit, day, now, is_working_day)


def _cancel_text(
    activity: Activity, unit: Unit, day: date, now: datetime, working: Callable[[date], bool]
) -> str | None:
    deadline = moment(
        activity.cancel_deadline, day, starts_at=unit.starts_at, is_working_day=working
    )
    if not is_open_at(now, deadline):
        return _("date limite d'annulation dépassée (%(moment)s)") % {
            "moment": format_moment(deadline)
        }
    return None


class BasketRules:
    """why_not_bookable and why_not_cancellable for every day of the baskets of one « Valider »,
    all at its one `now`: what depends only on the activity, the unit and the day (the unit
    closed that day, the opening and the deadline passed or not) worked out once and kept for
    the other children and units (a household books the same days for each child; a deadline
    rule reads the unit only for its start time), the working days counted once per date. Lives
    as long as the call: the answers are those of `now`, never of another instant. `closures`:
    activity id → the days closed for it or for all, as why_not_bookable takes them."""

    def __init__(self, *, now: datetime, closures: dict[int, dict[date, str]]):
        self.now, self.closures = now, closures
        self._closed: dict[tuple, str | None] = {}
        self._timing: dict[tuple, str | None] = {}
        self._cancel: dict[tuple, str | None] = {}
        self._working: dict[date, bool] = {}

    def working(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = is_working_day(day)
        return known

    def bookable(
        self, activity: Activity, unit: Unit, day: date, *, registered: bool, file_complete: bool
    ) -> str | None:
        """why_not_bookable(activity=…, unit=…, day=…, now=now, closures=the activity's, …)."""
        if not registered:
            return _("enfant non inscrit à cette activité")
        key = (activity.pk, unit.pk, day)
        if key in self._closed:
            closed = self._closed[key]
        else:
            closed = self._closed[key] = _closed_text(
                activity, unit, day, self.closures.get(activity.pk, {})
            )
        if closed is not None:
            return closed
        if activity.requires_complete_file and not file_complete:
            return _("dossier administratif incomplet")
        key = (activity.pk, unit.starts_at, day)
        if key in self._timing:
            return self._timing[key]
        answer = self._timing[key] = _timing_text(activity, unit, day, self.now, self.working)
        return answer

    def cancellable(self, activity: Activity, unit: Unit, day: date) -> str | None:
        """why_not_cancellable(activity=…, unit=…, day=…, now=now)."""
        key = (activity.pk, unit.starts_at, day)
        if key in self._cancel:
            return self._cancel[key]
        answer = self._cancel[key] = _cancel_text(activity, unit, day, self.now, self.working)
        return answer


@transaction.atomic
def offer_new_seats(*, unit: Unit, actor: User | None, now: datetime | None = None) -> int:
    """The unit got more seats (capacity or planned overbooking raised, or its limit removed):
    on each day still to come with a waiting list, the seats now free go to the first waiting
    families as offers, exactly as a seat given back does (reservations.move). A family that
    joined the list in time gets its offer whatever the booking deadline says now; a day whose
    unit has started offers nothing. Constant queries whatever the number of days. Returns the
    number of offers."""
    now = now or timezone.now()
    if unit.seats is None:
        reservations.forget_counters(unit)
    days = {
        day
        for day in Reservation.objects.filter(
            unit=unit, day__gte=now.astimezone(PARIS).date(), status=BookingStatus.LISTE_ATTENTE
        )
        .values_list("day", flat=True)
        .distinct()
        if now < datetime.combine(day, unit.starts_at, tzinfo=PARIS)
    }
    if not days:
        return 0

    def audit_rows(outcome):
        if not outcome.offered:
            return []
        return [
            dict(
                action="activite.places_proposees",
                commune=unit.commune,
                target=unit,
                changes={"offres": [None, len(outcome.offered)], "seats": [None, unit.seats]},
            )
        ]

    outcome = reservations.move(
        actor=actor, now=now, fill=[(unit, day) for day in sorted(days)], audit=audit_rows
    )
    return len(outcome.offered)


@transaction.atomic
def accept_bookings(*, commune: Commune, actor: User | None, ids: list[int], activities) -> int:
    """Accept the bookings « en attente d'instruction » among `ids` (of this commune and of
    `activities`): they become « réservée » (their seat was taken when the family validated),
    with history and an audit row. The guichet's acceptance and the demo call it. Returns how
    many were accepted."""
    rows = reservations.lock_bookings(
        Reservation.objects.select_related("unit", "child").filter(
            commune=commune,
            pk__in=ids,
            unit__activity__in=activities,
            status=BookingStatus.EN_ATTENTE,
        )
    )
    reservations.move(
        [reservations.Move(r, BookingStatus.RESERVEE, "accepted") for r in rows],
        actor=actor,
        now=timezone.now(),
        audit=lambda outcome: [
            dict(
                action="reservation.accept",
                commune=commune,
                target=reservation,
                famille_id=reservation.famille_id,
                changes={"status": [before, reservation.status]},
            )
            for reservation, before in outcome.changed
        ],
    )
    return len(rows)


def waiting_ranks(reservations: Iterable, *, commune_id: int) -> dict[int, int | None]:
    """The rank of each of `reservations` (anything with `pk` and `status`: models or the
    calendars' plain rows) that is « liste d'attente » on the waiting list of its unit and day,
    by `queued_at` then id; None for one no longer waiting. One query whatever their number,
    that returns only their ranks: the database numbers the waiting lists (a full unit's list
    in a rush is thousands of rows, read into Python and counted before)."""
    asked = [r.pk for r in reservations if r.status == BookingStatus.LISTE_ATTENTE]
    if not asked:
        return {}
    ids = ", ".join(["%s"] * len(asked))
    # Names from the model, never from data: the values are parameters. The commune named on
    # every table (raw SQL: the tenancy manager does not add it; the distribution column).
    table = connection.ops.quote_name(Reservation._meta.db_table)
    sql = _WAITING_RANKS.format(table=table, ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [commune_id, *asked, commune_id, str(BookingStatus.LISTE_ATTENTE), *asked]
        )
        ranks = dict(cursor.fetchall())
    return {pk: ranks.get(pk) for pk in asked}


_WAITING_RANKS = (
    'SELECT ranked."id", ranked."rank" FROM ('
    ' SELECT w."id", row_number() OVER ('
    '  PARTITION BY w."unit_id", w."day" ORDER BY w."queued_at", w."id") AS "rank"'
    ' FROM (SELECT DISTINCT a."unit_id", a."day" FROM {table} a'
    '  WHERE a."commune_id" = %s AND a."id" IN ({ids})) pairs'
    ' JOIN {table} w ON w."unit_id" = pairs."unit_id" AND w."day" = pairs."day"'
    ' WHERE w."commune_id" = %s AND w."status" = %s'
    ') ranked WHERE ranked."id" IN ({ids})'
)


def waiting_rank(reservation: Reservation) -> int | None:
    """One booking's rank on its waiting list (waiting_ranks)."""
    return waiting_ranks([reservation], commune_id=reservation.commune_id).get(reservation.pk)


@dataclass
class Basket:
    """The changes of one child for one activity, as validate_baskets takes them."""

    famille: Famille
    child: Personne
    activity: Activity
    add: list[tuple[Unit, date]]
    remove: list[tuple[Unit, date]]
    file_complete: bool = True


class BasketsRefused(Exception):
    """Some baskets break a rule: nothing was saved. `problems` maps each refused basket's
    index to what BasketRefused would say of it alone."""

    def __init__(self, problems: dict[int, dict]):
        super().__init__(problems)
        self.problems = problems


@transaction.atomic
def validate_basket(
    *,
    famille: Famille,
    child: Personne,
    activity: Activity,
    add: list[tuple[Unit, date]],
    remove: list[tuple[Unit, date]],
    actor: User,
    now: datetime | None = None,
    file_complete: bool = True,
) -> BasketResult:
    """« Valider »: every change of the basket is checked, then all are saved, or none (any
    rule broken → BasketRefused with every problem, nothing written)."""
    basket = Basket(famille, child, activity, add, remove, file_complete)
    try:
        return validate_baskets([basket], actor=actor, now=now)[0]
    except BasketsRefused as refused:
        raise BasketRefused(refused.problems[0]) from None


def lock_basket_bookings(
    *, commune_id: int, child_ids: set[int], activity_ids: tuple[int, ...], days: set[date]
) -> list[Reservation]:
    """The bookings of `child_ids` on the units of `activity_ids` on `days`, locked (FOR UPDATE)
    in the order of the day and the unit's position. On PostgreSQL one statement written once,
    the lists passed as arrays (the ORM built and compiled it on every « Valider », about a
    millisecond); elsewhere the ORM's."""
    if connection.vendor != "postgresql":
        return list(
            Reservation.objects.select_for_update(of=("self",)).filter(
                commune_id=commune_id,
                child_id__in=child_ids,
                unit__activity_id__in=activity_ids,
                day__in=days,
            )
        )
    fields = Reservation._meta.concrete_fields
    columns = ", ".join(f'r."{field.column}"' for field in fields)
    with statement_cursor(connection.alias) as cursor:
        cursor.execute(
            _BASKET_BOOKINGS.format(columns=columns),
            [commune_id, sorted(child_ids), sorted(days), sorted(activity_ids)],
        )
        names = [field.attname for field in fields]
        return [Reservation.from_db(connection.alias, names, row) for row in cursor.fetchall()]


# The ORM's statement (the unit joined within the commune, the model's order), its lists as
# arrays. Names from the model, never from data: the values are parameters.
_BASKET_BOOKINGS = (
    "SELECT {columns} FROM activities_reservation r "
    "JOIN activities_unit u ON u.id = r.unit_id AND u.commune_id = r.commune_id "
    "WHERE r.commune_id = %s AND r.child_id = ANY(%s::bigint[]) AND r.day = ANY(%s::date[]) "
    "AND u.activity_id = ANY(%s::bigint[]) "
    "ORDER BY r.day, u.position FOR UPDATE OF r"
)


# « Valider »'s registrations, compiled once (every « Valider » reads them).
_REGISTERED = Prepared(
    lambda child_ids, activity_ids: Inscription.objects.filter(
        child__in=child_ids, activity__in=activity_ids, status=InscriptionStatus.ACCEPTEE
    ).values_list("child_id", "activity_id")
)


@transaction.atomic
def validate_baskets(
    baskets: list[Basket], *, actor: User, now: datetime | None = None
) -> list[BasketResult]:
    """« Valider » of several baskets at once (the household grid: every child, every
    activity): every change checked, then all saved, or none (BasketsRefused with every problem
    of every basket). A constant number of queries whatever the number of baskets and changes:
    the seat counters locked first in one order, the registrations, closures and bookings read
    once, one reservations.move for all."""
    if not baskets:
        return []  # nothing asked: nothing read, nothing locked
    now = now or timezone.now()
    problems: dict[int, dict] = {}
    for index, basket in enumerate(baskets):
        if (
            basket.child.famille_id != basket.famille.pk
            or basket.activity.commune_id != basket.famille.commune_id
        ):
            problems[index] = {None: _("Cet enfant n'est pas de votre foyer.")}
    if problems:
        raise BasketsRefused(problems)
    changes = [(u, d) for b in baskets for u, d in b.add + b.remove]
    days = [day for _unit, day in changes]
    # The seat counters first, then the children's bookings (only them, not their units): the
    # order every writer keeps, else a seat given back (counter, then the waiting list) and a
    # waiting family's basket each hold what the other waits for (PostgreSQL).
    counters = reservations.lock_counters((u.pk, d) for u, d in changes if u.seats is not None)
    # Read once the counters are held: a day closed (close_day holds them too) while a basket
    # waited is seen closed, not booked from a view taken before the closure.
    children = {b.child.pk for b in baskets}
    activities = {b.activity.pk: b.activity for b in baskets}
    commune_id = baskets[0].famille.commune_id
    activity_ids = tuple(sorted(activities))
    registered = set(_REGISTERED.all(tuple(sorted(children)), activity_ids, commune_id=commune_id))
    closures: dict[int | None, dict[date, str]] = {}
    if days:
        for activity_id, day, reason in _CLOSURES.all(
            activity_ids, min(days), max(days), commune_id=commune_id
        ):
            closures.setdefault(activity_id, {})[day] = reason
    existing = {
        (r.child_id, r.unit_id, r.day): r
        for r in lock_basket_bookings(
            commune_id=commune_id, child_ids=children, activity_ids=activity_ids, days=set(days)
        )
    }
    rules = BasketRules(
        now=now,
        closures={pk: {**closures.get(None, {}), **closures.get(pk, {})} for pk in activities},
    )
    moves = []
    for index, basket in enumerate(baskets):
        found = _basket_problems(basket, rules=rules, registered=registered, existing=existing)
        if found:
            problems[index] = found
        elif not problems:
            moves += _basket_moves(basket, existing=existing)
    if problems:
        raise BasketsRefused(problems)

    def key(reservation):
        return (reservation.child_id, reservation.unit.activity_id)

    def audit_rows(outcome):
        # Each booking sorted to its basket once (not read again for every basket).
        by_basket: dict[tuple, tuple[list, list]] = {}
        for basket in baskets:
            by_basket.setdefault((basket.child.pk, basket.activity.pk), ([], []))
        for reservation in outcome.created:
            by_basket[key(reservation)][0].append(reservation)
        for reservation in outcome.removed:
            by_basket[key(reservation)][1].append(reservation)
        rows = []
        for basket in baskets:
            created, removed = by_basket[(basket.child.pk, basket.activity.pk)]
            waiting = [r for r in created if r.status == BookingStatus.LISTE_ATTENTE]
            added = [r for r in created if r.status != BookingStatus.LISTE_ATTENTE]
            if not created and not removed:
                continue  # nothing of this basket was a change (booked meanwhile): no row
            rows.append(
                dict(
                    action="reservation.basket",
                    commune=basket.famille.commune,
                    target=basket.child,
                    famille_id=basket.famille.pk,
                    changes={
                        "activity": [None, basket.activity.name],
                        "added": [None, [f"{r.unit.code} {r.day:%d/%m/%Y}" for r in added]],
                        "waiting": [None, [f"{r.unit.code} {r.day:%d/%m/%Y}" for r in waiting]],
                        "removed": [None, [f"{r.unit.code} {r.day:%d/%m/%Y}" for r in removed]],
                    },
                )
            )
        return rows

    outcome = reservations.move(moves, actor=actor, now=now, audit=audit_rows, locked=counters)
    results = {(b.child.pk, b.activity.pk): BasketResult() for b in baskets}
    for reservation in outcome.removed:
        results[key(reservation)].removed.append((reservation.unit, reservation.day))
    for reservation in outcome.created:
        if reservation.status == BookingStatus.LISTE_ATTENTE:
            results[key(reservation)].waiting.append(reservation)
        else:
            results[key(reservation)].added.append(reservation)
    ranks = waiting_ranks(
        [r for result in results.values() for r in result.waiting], commune_id=commune_id
    )
    for result in results.values():
        result.ranks = {r.pk: ranks[r.pk] for r in result.waiting}
    return [results[(b.child.pk, b.activity.pk)] for b in baskets]


def _basket_problems(basket: Basket, *, rules: BasketRules, registered, existing) -> dict:
    """What breaks a rule in `basket`, by (unit id, day); empty when nothing does."""
    activity, child = basket.activity, basket.child
    activity_id, child_id = activity.pk, child.pk
    is_registered = (child_id, activity_id) in registered
    problems = {}
    for unit, day in basket.add:
        unit_id = unit.pk
        if unit.activity_id != activity_id:
            problems[(unit_id, day)] = _("unité d'une autre activité")
            continue
        if (child_id, unit_id, day) in existing:
            continue  # already booked or waiting: nothing to add
        reason = rules.bookable(
            activity, unit, day, registered=is_registered, file_complete=basket.file_complete
        )
        if reason:
            problems[(unit_id, day)] = reason
    for unit, day in basket.remove:
        if (child_id, unit.pk, day) not in existing:
            continue
        reason = rules.cancellable(activity, unit, day)
        if reason:
            problems[(unit.pk, day)] = reason
    return problems


def _basket_moves(basket: Basket, *, existing) -> list[reservations.Move]:
    """The basket's cancellations, then its bookings by day and unit."""
    child, activity = basket.child, basket.activity
    moves = []
    for unit, day in basket.remove:
        reservation = existing.get((child.pk, unit.pk, day))
        if reservation is not None:
            reservation.unit = unit
            moves.append(reservations.Move(reservation, None, "removed"))
    wanted = BookingStatus.EN_ATTENTE if activity.needs_instruction else BookingStatus.RESERVEE
    child_id = child.pk
    adding = [
        (unit, day)
        for unit, day in sorted(basket.add, key=lambda change: (change[1], change[0].position))
        if (child_id, unit.pk, day) not in existing
    ]
    bookings = reservations.new_bookings(
        commune_id=basket.famille.commune_id, famille=basket.famille, child=child, days=adding
    )
    moves += [reservations.Move(booking, wanted, "added") for booking in bookings]
    return moves


# --- The families' basket from their pages: « Valider », then the summary by e-mail ------------


def validate_basket_and_notify(
    *,
    famille: Famille,
    child: Personne,
    activity: Activity,
    add: list[tuple[Unit, date]],
    remove: list[tuple[Unit, date]],
    actor: User,
    now: datetime | None = None,
    file_complete: bool = True,
) -> BasketResult:
    """« Valider » from the calendar: validate_basket in one transaction, then (on commit) the
    summary e-mailed to the account that validated. BasketRefused as validate_basket."""
    with transaction.atomic():
        result = validate_basket(
            famille=famille, child=child, activity=activity, add=add, remove=remove,
            actor=actor, now=now, file_complete=file_complete,
        )  # fmt: skip
        if result.added or result.waiting or result.removed:
            queue_baskets_summary(
                user=actor, commune_id=activity.commune_id, baskets=[(child, activity, result)]
            )
    return result


def summary_of(baskets: list) -> list[dict]:
    """What the summary e-mail says of `baskets` ((child, activity, BasketResult)), as the JSON
    the task takes (tasks.send_baskets_summary): ids, days, statuses, waiting ranks."""
    return [
        {
            "child": child.pk,
            "activity": activity.pk,
            "added": [[r.unit_id, r.day.isoformat(), r.status] for r in result.added],
            "waiting": [
                [r.unit_id, r.day.isoformat(), result.ranks.get(r.pk)] for r in result.waiting
            ],
            "removed": [[unit.pk, day.isoformat()] for unit, day in result.removed],
        }
        for child, activity, result in baskets
    ]


def queue_baskets_summary(*, user: User, commune_id: int, baskets: list) -> None:
    """The e-mail of what « Valider » saved (days added, on the waiting list with the rank,
    cancelled), one for the baskets validated together: queued as a task once the transaction
    has committed, rendered there (tasks.send_baskets_summary), not in the request. Nothing when
    the account has no address."""
    if not user.email:
        return
    enqueue_on_commit(
        send_baskets_summary,
        user_id=user.pk,
        commune_id=commune_id,
        # One string: django-tasks walks every value of its arguments in Python (a month of
        # three children is about 400 values; a string is one).
        summary=json.dumps(summary_of(baskets)),
        language=get_language(),
    )
