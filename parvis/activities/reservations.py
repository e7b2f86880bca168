"""The one owner of a booking's state: `Reservation.status` and the seat counters
(`UnitDay.taken`) are written here and nowhere else (tests/test_reservation_writes.py scans the
code for writes elsewhere).

`move` takes a list of moves along BOOKING_TRANSITIONS (models.py) — a booking made, accepted,
cancelled, refused, declined, expired, removed by a closure — and in one transaction keeps the
seat counters in step, gives each seat given back to the first of its waiting list (an offer,
« place proposée »), writes the BookingEvent rows, the audit rows and queues the e-mails on
commit. Whatever the number of moves, a constant number of queries: the counters created when
missing and locked, in one order (unit, day), so that two transactions never wait on each other
the other way round; the waiting lists read and locked once; then one delete, one bulk update,
one bulk insert of the bookings, of the counters and of the history.

Why a module of its own, and not a section of services.py: services.py says whether a family may
change a day (deadlines, closures, registration) and what it is told; this module is the state
machine under it that the families' baskets, the offers' pages, the agents' decisions, the
closures and the capacity changes all call — small, with no rule of its own, so that the scan can
name it as the only writer.

A seat is held by a booking « réservée », « en attente d'instruction » or « proposée »
(SEAT_HOLDING); a unit without capacity has no counter (the canteen never refuses a pupil)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models import Count, Model, Q, QuerySet, signals
from django.db.models.base import ModelState
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.services import audit_many as write_audit_many
from parvis.activities.models import (
    BOOKING_TRANSITIONS,
    SEAT_HOLDING,
    BookingEvent,
    BookingStatus,
    Reservation,
    Unit,
    UnitDay,
)
from parvis.activities.rules import PARIS, format_moment
from parvis.communes.prepared import statement_cursor
from parvis.families.models import FamilyAccess
from parvis.mail import absolute_url, queue_email

Pair = tuple[int, date]  # (unit id, day): the key of a seat counter


class NotAllowed(Exception):
    """A move BOOKING_TRANSITIONS does not allow: nothing was written."""


@dataclass(frozen=True)
class Move:
    """`reservation` (unsaved for a booking to make) goes to `to` (None: no booking any more,
    the row deleted); `action` names it in the history (BookingEvent: added, removed, refused,
    accepted, declined, expired). A booking asked « réservée » or « en attente d'instruction »
    goes to the waiting list when its unit has no seat left that day."""

    reservation: Reservation
    to: str | None
    action: str


@dataclass
class Outcome:
    """What `move` wrote: the bookings made (with the status they got), changed (with the
    status they had), removed (with their last status), and the offers it made."""

    created: list[Reservation] = field(default_factory=list)
    changed: list[tuple[Reservation, str]] = field(default_factory=list)
    removed: list[Reservation] = field(default_factory=list)
    offered: list[Reservation] = field(default_factory=list)


def new_booking(*, commune_id: int, famille, child, unit: Unit, day: date) -> Reservation:
    """An unsaved booking to make (`Move(new_booking(…), status, "added")`), with its family,
    child and unit cached as `Reservation(famille=…, child=…, unit=…)` would (new_bookings)."""
    return new_bookings(commune_id=commune_id, famille=famille, child=child, days=[(unit, day)])[0]


def new_bookings(
    *, commune_id: int, famille, child, days: list[tuple[Unit, date]]
) -> list[Reservation]:
    """new_booking of each (unit, day) of `days` for one child. Their attributes written as
    Model.__init__ writes them (every concrete field's, here None but these), without its
    per-field descriptors and signals when nothing listens to them (a month's « Valider »
    builds a hundred: 13 us each through the positional path of Model.__init__, 2 us so); the
    listeners asked once for them all."""
    names = _booking_attnames()
    values = {
        "commune_id": commune_id, "famille_id": famille.pk, "child_id": child.pk, "status": "",
    }  # fmt: skip
    listened = signals.pre_init.has_listeners(Reservation) or signals.post_init.has_listeners(
        Reservation
    )
    blank = dict.fromkeys(names)
    made = []
    for unit, day in days:
        if listened:
            row = {**values, "unit_id": unit.pk, "day": day}
            booking = Reservation(*[row.get(name) for name in names])
        else:
            booking = Reservation.__new__(Reservation)
            booking._state = ModelState()
            booking.__dict__.update(blank, **values, unit_id=unit.pk, day=day)
        booking._state.fields_cache.update(famille=famille, child=child, unit=unit)
        made.append(booking)
    return made


@cache
def _booking_attnames() -> tuple[str, ...]:
    return tuple(field.attname for field in Reservation._meta.concrete_fields)


def pairs_q(pairs: Iterable[Pair]) -> Q:
    """The rows of (unit id, day) `pairs`: one `day IN (…)` per unit, not a condition per pair
    (the ORM builds each in about a tenth of a millisecond: a month's basket is sixty)."""
    days: dict[int, set[date]] = defaultdict(set)
    for unit_id, day in pairs:
        days[unit_id].add(day)
    wanted = Q()
    for unit_id in sorted(days):
        wanted |= Q(unit_id=unit_id, day__in=sorted(days[unit_id]))
    return wanted


def ensure_seat_counters(pairs: Iterable[Pair]) -> None:
    """Creates the missing seat counters of (unit id, day) `pairs`, each at the seats its
    bookings already hold: bookings made before the unit had a capacity count, so a counter
    never starts below the truth (nor oversells the last seat). A counter that exists is left
    as it is. Two queries, three when some are missing."""
    pairs = set(pairs)
    if not pairs:
        return
    if connection.vendor == "postgresql":
        _ensure_counters_pg(pairs)
        return
    existing = set(UnitDay.objects.filter(pairs_q(pairs)).values_list("unit_id", "day"))
    missing = pairs - existing
    if not missing:
        return
    held = {
        (unit_id, day): count
        for unit_id, day, count in Reservation.objects.filter(
            pairs_q(missing), status__in=SEAT_HOLDING
        )
        .values("unit_id", "day")
        .annotate(count=Count("pk"))
        .values_list("unit_id", "day", "count")
    }
    UnitDay.objects.bulk_create(
        [UnitDay(unit_id=u, day=d, taken=held.get((u, d), 0)) for u, d in sorted(missing)],
        ignore_conflicts=True,
    )


def lock_counters(pairs: Iterable[Pair]) -> dict[Pair, UnitDay]:
    """The seat counters of `pairs`, created when missing and locked for the rest of the
    transaction, always in the order (unit, day): every writer locks them so, which is what
    keeps two transactions from each holding what the other waits for (PostgreSQL)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    ensure_seat_counters(pairs)
    if connection.vendor == "postgresql":
        return _lock_counters_pg(pairs)
    return {
        (row.unit_id, row.day): row
        for row in UnitDay.objects.select_for_update(of=("self",))
        .filter(pairs_q(pairs))
        .order_by("unit_id", "day")
    }


# On PostgreSQL the counters are created and locked by two statements of arrays, whatever the
# number of pairs: the ORM built a condition per unit and a model per row (a month's
# « Valider »: about 2 ms of CPU), and created the missing ones in three more statements.


def _arrays(pairs: set[Pair]) -> list[list]:
    ordered = sorted(pairs)
    return [[unit_id for unit_id, _day in ordered], [day for _unit_id, day in ordered]]


def _ensure_counters_pg(pairs: set[Pair]) -> None:
    """ensure_seat_counters in one statement: the missing counters inserted with the seats
    their bookings hold, a counter another transaction inserts meanwhile left as it is."""
    with statement_cursor(connection.alias) as cursor:
        cursor.execute(
            'INSERT INTO "activities_unitday" ("commune_id", "unit_id", "day", "taken") '
            'SELECT u."commune_id", w.unit_id, w.day, ('
            '  SELECT count(*) FROM "activities_reservation" r'
            '  WHERE r."unit_id" = w.unit_id AND r."day" = w.day'
            '  AND r."status" = ANY(%s::varchar[]) AND r."commune_id" = u."commune_id") '
            "FROM unnest(%s::bigint[], %s::date[]) AS w(unit_id, day) "
            'JOIN "activities_unit" u ON u."id" = w.unit_id '
            'WHERE NOT EXISTS (SELECT 1 FROM "activities_unitday" d'
            '  WHERE d."unit_id" = w.unit_id AND d."day" = w.day'
            '  AND d."commune_id" = u."commune_id") '
            "ORDER BY w.unit_id, w.day ON CONFLICT DO NOTHING",
            [[str(status) for status in SEAT_HOLDING], *_arrays(pairs)],
        )


def _lock_counters_pg(pairs: set[Pair]) -> dict[Pair, UnitDay]:
    """The counters of `pairs` locked (FOR UPDATE) in the order (unit, day), as models."""
    names = [field.attname for field in UnitDay._meta.concrete_fields]
    columns = ", ".join(f'd."{field.column}"' for field in UnitDay._meta.concrete_fields)
    with statement_cursor(connection.alias) as cursor:
        cursor.execute(
            f"SELECT {columns} FROM unnest(%s::bigint[], %s::date[]) AS w(unit_id, day) "  # noqa: S608
            'JOIN "activities_unit" u ON u."id" = w.unit_id '
            'JOIN "activities_unitday" d ON d."unit_id" = w.unit_id AND d."day" = w.day '
            'AND d."commune_id" = u."commune_id" '
            'ORDER BY d."unit_id", d."day" FOR UPDATE OF d',
            _arrays(pairs),
        )
        rows = [UnitDay.from_db(connection.alias, names, row) for row in cursor.fetchall()]
    return {(row.unit_id, row.day): row for row in rows}


def lock_bookings(bookings: QuerySet[Reservation]) -> list[Reservation]:
    """The reservations of `bookings`, locked in the house order: the seat counters of their
    units and days first, then the rows (re-read under the lock: a concurrent change has won or
    waits). A basket or a closure locks the counters, then the family's rows; an agent's
    decision or an offer taking the rows first would wait for a counter that the basket holds
    while the basket waits for its row (a deadlock PostgreSQL breaks by failing one of them)."""
    lock_counters(bookings.filter(unit__capacity__isnull=False).values_list("unit_id", "day"))
    return list(bookings.select_for_update(of=("self",)))


def _started(unit: Unit, day: date, now: datetime) -> bool:
    return now >= datetime.combine(day, unit.starts_at, tzinfo=PARIS)


def move(
    moves: Iterable[Move] = (),
    *,
    actor,
    now: datetime,
    fill: Iterable[tuple[Unit, date]] = (),
    audit: Callable[[Outcome], Iterable[dict]] | None = None,
    notify: Callable[[Outcome], None] | None = None,
    offer_seats: bool = True,
    locked: dict[Pair, UnitDay] | None = None,
) -> Outcome:
    """Applies `moves` in their order (the reservations to change locked by the caller, with
    `lock_bookings`), then
    offers every free seat of `fill` (unit, day) to its waiting list (seats were added). A seat
    given back goes to the first of the waiting list of its unit and day, unless the unit has
    started that day or the seat is above a capacity lowered since (then it is just freed).
    `audit(outcome)` gives the audit rows (keyword arguments of accounts.services.audit), written
    here; `notify(outcome)` and each offer's e-mail run once committed. `offer_seats=False`: a
    seat given back is only freed, offered to nobody (a day closed in several batches, whose
    waiting families are removed by a later one). `locked`: the counters the caller has already
    locked with `lock_counters` in this transaction (not read again). NotAllowed, with nothing
    written, for a move the transitions table does not allow."""
    moves = list(moves)
    # The table's moves between two states both hold a seat or neither does, but for the offer
    # (liste d'attente → proposée), made below when a seat is free, never asked for. Checked
    # before the transaction: a caller's own transaction goes on after a NotAllowed.
    for change in moves:
        before = change.reservation.status if change.reservation.pk else None
        if change.to == BookingStatus.PROPOSEE or change.to not in BOOKING_TRANSITIONS[before]:
            raise NotAllowed(f"{before} → {change.to}")
    return _move(
        moves, actor=actor, now=now, fill=list(fill), audit=audit, notify=notify,
        offer_seats=offer_seats, locked=locked,
    )  # fmt: skip


# No savepoint of its own inside a caller's transaction (« Valider »'s: two statements less,
# issue 23). A database error here ends the caller's transaction, which no caller goes on with.
@transaction.atomic(savepoint=False)
def _move(
    moves: list[Move],
    *,
    actor,
    now: datetime,
    fill: list[tuple[Unit, date]],
    audit: Callable[[Outcome], Iterable[dict]] | None,
    notify: Callable[[Outcome], None] | None,
    offer_seats: bool,
    locked: dict[Pair, UnitDay] | None,
) -> Outcome:
    units: dict[int, Unit] = {}
    for change in moves:
        units.setdefault(change.reservation.unit_id, change.reservation.unit)
    for unit, _day in fill:
        units.setdefault(unit.pk, unit)
    wanted = {(c.reservation.unit_id, c.reservation.day) for c in moves} | {
        (u.pk, d) for u, d in fill
    }
    counted_pairs = {p for p in wanted if units[p[0]].seats is not None}
    locked = locked or {}
    counters = {pair: locked[pair] for pair in counted_pairs if pair in locked}
    counters.update(lock_counters(counted_pairs - counters.keys()))
    before_taken = {pair: row.taken for pair, row in counters.items()}

    # The waiting lists where a seat may be given back or added, locked in one query; the
    # bookings moved here are not offered anything (a closure removes the list with them).
    moved = {c.reservation.pk for c in moves if c.reservation.pk}
    giving_back = {
        (c.reservation.unit_id, c.reservation.day)
        for c in moves
        if offer_seats
        and c.reservation.pk
        and c.to is None
        and c.reservation.status in SEAT_HOLDING
    }
    queues: dict[Pair, deque[Reservation]] = defaultdict(deque)
    listed = (giving_back & counters.keys()) | {(u.pk, d) for u, d in fill}
    if listed:
        for waiting in (
            Reservation.objects.select_for_update()
            .filter(pairs_q(listed), status=BookingStatus.LISTE_ATTENTE)
            .exclude(pk__in=moved)
            .order_by("unit_id", "day", "queued_at", "pk")
        ):
            waiting.unit = units[waiting.unit_id]
            queues[(waiting.unit_id, waiting.day)].append(waiting)

    outcome = Outcome()
    events: list[tuple] = []  # EVENT_FIELDS but `at`: no model instance per row
    updated: dict[int, Reservation] = {}
    by = actor.pk if actor is not None and actor.pk else None

    def event(reservation: Reservation, action: str) -> None:
        events.append(
            (
                reservation.commune_id, reservation.famille_id, reservation.child_id,
                reservation.unit_id, reservation.day, action, reservation.status, by,
            )
        )  # fmt: skip

    def offer(pair: Pair) -> None:
        waiting = queues[pair].popleft()
        assert BookingStatus.PROPOSEE in BOOKING_TRANSITIONS[waiting.status]
        waiting.status = BookingStatus.PROPOSEE
        waiting.offer_expires_at = now + timedelta(hours=units[pair[0]].activity.offer_hours)
        if waiting.pk:
            updated[waiting.pk] = waiting
        outcome.offered.append(waiting)
        event(waiting, "offered")

    def give_back(pair: Pair) -> None:
        counter = counters.get(pair)
        if counter is None:  # no capacity: nothing counted, nobody waits
            return
        unit = units[pair[0]]
        if (
            not offer_seats
            or counter.taken > unit.seats
            or _started(unit, pair[1], now)
            or not queues[pair]
        ):
            counter.taken = max(0, counter.taken - 1)
        else:
            offer(pair)  # the seat passes on: the count stays

    for change in moves:
        reservation = change.reservation
        pair = (reservation.unit_id, reservation.day)
        if not reservation.pk:
            status = change.to
            counter = counters.get(pair)
            if status in SEAT_HOLDING and counter is not None:
                if counter.taken >= units[pair[0]].seats:
                    status = BookingStatus.LISTE_ATTENTE
                else:
                    counter.taken += 1
            reservation.status = status
            outcome.created.append(reservation)
            event(reservation, change.action)
            if status == BookingStatus.LISTE_ATTENTE:
                queues[pair].append(reservation)
        elif change.to is None:
            event(reservation, change.action)  # with the status it had
            outcome.removed.append(reservation)
            if reservation.status in SEAT_HOLDING:
                give_back(pair)
        else:
            outcome.changed.append((reservation, reservation.status))
            reservation.status = change.to
            reservation.offer_expires_at = None
            updated[reservation.pk] = reservation
            event(reservation, change.action)

    for unit, day in fill:
        pair = (unit.pk, day)
        counter = counters.get(pair)
        while queues[pair] and not _started(unit, day, now):
            if counter is not None:
                if counter.taken >= unit.seats:
                    break
                counter.taken += 1
            offer(pair)

    if outcome.removed:
        Reservation.objects.filter(pk__in=[r.pk for r in outcome.removed]).delete()
    if updated:
        Reservation.objects.bulk_update(list(updated.values()), ["status", "offer_expires_at"])
    if outcome.created:
        _create_bookings(outcome.created)
    counted = [row for pair, row in counters.items() if row.taken != before_taken[pair]]
    if counted:
        _save_counts(counted)
    if events:
        _write_events(events)
    if audit is not None:
        write_audit_many(actor=actor, rows=audit(outcome))  # one statement for any number
    for offered in outcome.offered:
        transaction.on_commit(lambda r=offered: send_offer(reservation=r))
    if notify is not None:
        transaction.on_commit(lambda: notify(outcome))
    return outcome


# --- The bulk writes of `move` ------------------------------------------------------------------
# On PostgreSQL, one INSERT … SELECT FROM unnest(…) per table with the rows' columns as arrays, and
# one UPDATE … FROM unnest(…) for the counters: the same single statements as Django's
# bulk_create and bulk_update, without Django preparing each field of each row in Python nor
# instantiating a model per history row (a month's « Valider » of three children writes about
# 120 bookings and as many history rows: half of its CPU went there). Elsewhere (SQLite), Django's.

BOOKING_FIELDS = (
    "commune_id", "famille_id", "child_id", "unit_id", "day", "status", "queued_at",
    "offer_expires_at",
)  # fmt: skip
EVENT_FIELDS = (
    "commune_id", "famille_id", "child_id", "unit_id", "day", "action", "status", "actor_id", "at",
)  # fmt: skip


def _unnest_insert(model: type[Model], names: tuple[str, ...], rows: list[tuple], returning=()):
    """INSERT of `rows` (values in the order of `names`, attribute names) into `model`'s table
    in one statement, its columns passed as arrays; the `returning` columns of each row."""
    fields = [model._meta.get_field(name) for name in names]
    # Names and types from the model, never from data: the values are parameters.
    sql = "INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})".format(  # noqa: S608
        table=connection.ops.quote_name(model._meta.db_table),
        columns=", ".join(connection.ops.quote_name(f.column) for f in fields),
        arrays=", ".join(f"%s::{f.db_type(connection)}[]" for f in fields),
    )
    if returning:
        sql += " RETURNING " + ", ".join(connection.ops.quote_name(c) for c in returning)
    with statement_cursor(connection.alias) as cursor:
        cursor.execute(sql, [_pg_array(column) for column in zip(*rows, strict=True)])
        return cursor.fetchall() if returning else []


def _pg_array(values) -> str:
    """The text of a PostgreSQL array of `values` (integers, dates, datetimes, strings, None),
    cast by the statement: half the CPU of psycopg adapting a list element by element. Each
    distinct value written once (a column of a « Valider » repeats its commune, family, child,
    unit, statuses, days and instant: about 1,800 values, a hundred distinct), keyed by its type
    too (True is 1 to a dict, not to this text) and a datetime by its offset (02:30 of the
    autumn's two 02:30s are equal to Python, not to this text). A column of one type (all of
    them but the actor's, mostly) is joined by loops in C: by `str` for integers, else each
    distinct value's text worked out once and looked up."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is int:
            return "{" + ",".join(map(str, values)) + "}"
        if kind is type(None):
            return "{" + ",".join(["NULL"] * len(values)) + "}"
        if kind is datetime:
            keys = list(zip(values, map(datetime.utcoffset, values), strict=True))
            texts = {key: _pg_item(key[0]) for key in set(keys)}
            return "{" + ",".join(map(texts.__getitem__, keys)) + "}"
        if kind is date or issubclass(kind, str):
            texts = {value: _pg_item(value) for value in set(values)}
            return "{" + ",".join(map(texts.__getitem__, values)) + "}"
    return _pg_array_mixed(values)


def _pg_array_mixed(values) -> str:
    """_pg_array of a column of several types (or a type it has no shortcut for)."""
    texts: dict[tuple, str] = {}
    items = []
    for value in values:
        key = (value.__class__, value, value.utcoffset() if isinstance(value, datetime) else None)
        text = texts.get(key)
        if text is None:
            text = texts[key] = _pg_item(value)
        items.append(text)
    return "{" + ",".join(items) + "}"


def _pg_item(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, date) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _create_bookings(created: list[Reservation]) -> None:
    """The new bookings, inserted with their ids set (each found back by child, unit and day,
    unique), as bulk_create leaves them. `queued_at` is the instant of the insert (auto_now_add):
    one for the whole statement, the ids keeping the order of the waiting list within it."""
    if connection.vendor != "postgresql":
        Reservation.objects.bulk_create(created)
        return
    queued_at = timezone.now()
    rows = [
        (r.commune_id, r.famille_id, r.child_id, r.unit_id, r.day, r.status, queued_at,
         r.offer_expires_at)
        for r in created
    ]  # fmt: skip
    found = _unnest_insert(
        Reservation, BOOKING_FIELDS, rows, returning=("id", "child_id", "unit_id", "day")
    )
    ids = {(child_id, unit_id, day): pk for pk, child_id, unit_id, day in found}
    for reservation in created:
        reservation.pk = ids[(reservation.child_id, reservation.unit_id, reservation.day)]
        reservation.queued_at = queued_at
        reservation._state.adding = False
        reservation._state.db = connection.alias


def _write_events(events: list[tuple]) -> None:
    """The history rows (EVENT_FIELDS but `at`, which is now: auto_now_add)."""
    if connection.vendor != "postgresql":
        BookingEvent.objects.bulk_create(
            [BookingEvent(**dict(zip(EVENT_FIELDS[:-1], row, strict=True))) for row in events]
        )
        return
    at = timezone.now()
    _unnest_insert(BookingEvent, EVENT_FIELDS, [(*row, at) for row in events])


def _save_counts(counters: list[UnitDay]) -> None:
    """The counters' new `taken`, each row named by its id and its commune (the distribution
    column, issue 18 §2)."""
    if connection.vendor != "postgresql":
        UnitDay.objects.bulk_update(counters, ["taken"])
        return
    with statement_cursor(connection.alias) as cursor:
        cursor.execute(
            'UPDATE "activities_unitday" SET "taken" = v.taken '
            "FROM unnest(%s::bigint[], %s::bigint[], %s::integer[]) AS v(id, commune_id, taken) "
            'WHERE "activities_unitday"."id" = v.id '
            'AND v.commune_id = "activities_unitday"."commune_id"',
            [
                [c.pk for c in counters],
                [c.commune_id for c in counters],
                [c.taken for c in counters],
            ],
        )


def forget_counters(unit: Unit) -> None:
    """The unit has no capacity any more: its counters go (nothing is counted without a
    capacity); when it gets one again, they start again from the bookings (ensure_seat_counters)."""
    UnitDay.objects.filter(unit=unit).delete()


@transaction.atomic  # its counters are locked: the bench calls it outside any transaction
def load_booked(reservations: list[Reservation], *, batch_size: int = 5000) -> None:
    """The demo and bench data loaders' way in: confirmed bookings (« réservée ») bulk-created
    as they are, without rules, history nor audit (data of the past or of a benchmark), and
    the counters of their units with a capacity raised to match. A few queries per call."""
    for reservation in reservations:
        reservation.status = BookingStatus.RESERVEE
    Reservation.objects.bulk_create(reservations, batch_size=batch_size)
    added: dict[Pair, int] = defaultdict(int)
    for r in reservations:
        if r.unit.seats is not None:
            added[(r.unit_id, r.day)] += 1
    if not added:
        return
    days = [day for _unit, day in added]
    existing = {
        (row.unit_id, row.day): row
        for row in UnitDay.objects.select_for_update().filter(
            unit_id__in={unit_id for unit_id, _day in added}, day__range=(min(days), max(days))
        )
    }
    raised = []
    for pair, count in added.items():
        if pair in existing:
            existing[pair].taken += count
            raised.append(existing[pair])
    UnitDay.objects.bulk_update(raised, ["taken"], batch_size=batch_size)
    UnitDay.objects.bulk_create(
        (
            UnitDay(unit_id=u, day=d, taken=n)
            for (u, d), n in added.items()
            if (u, d) not in existing
        ),
        batch_size=batch_size,
    )


def send_offer(*, reservation: Reservation) -> None:
    """The e-mail telling the first waiting family that a seat is theirs until the offer ends."""
    recipients = sorted(
        {
            email
            for email in FamilyAccess.objects.filter(famille_id=reservation.famille_id).values_list(
                "user__email", flat=True
            )
            if email
        }
    )
    if not recipients:
        return
    unit, commune = reservation.unit, reservation.commune
    queue_email(
        subject=_("%(commune)s — une place s'est libérée") % {"commune": commune.name},
        body=render_to_string(
            "activities/emails/offer.txt",
            {
                "commune": commune,
                "reservation": reservation,
                "activity": unit.activity,
                "unit": unit,
                "expires": format_moment(reservation.offer_expires_at),
                "url": absolute_url(
                    reverse("activities:offre", args=[commune.slug, reservation.pk])
                ),
            },
        ),
        commune_id=commune.pk,
        to=recipients,
    )
