"""`make bench-scale` (issue 18 §1): a thousand communes in one PostgreSQL database.

The pieces the command (portal/management/commands/bench_scale.py) puts together:

- `add_billing` gives a commune of the bench builder its régie, tariffs, penalty rules, QFs and
  one month of registers and absences (as `billing/bench.py` does for its invoicing communes);
- `clone_plan` reads Django's model metadata at run time: every table that holds a commune's
  rows (a foreign key to `Commune`, or to such a table), with, for each column, how a clone
  writes it — the primary key and every foreign key to a commune's table shifted by the clone's
  offset, the text columns of a unique constraint that no shifted column makes unique suffixed
  (`slug-7`, `username-7`), the others copied. A column added to a model is cloned with no
  change here;
- `clone` copies the rows a template commune was built with (the ids above a snapshot taken
  before building it) `copies` times, in SQL (INSERT … SELECT … CROSS JOIN generate_series),
  commune by commune in chunks, each clone's ids offset by the template's span;
- `inconsistencies` and `counters_not_equal` check the result: every row of a commune's table
  points only to rows of its own commune, and the seat counters equal the bookings.

PostgreSQL only (generate_series, session_replication_role)."""

from __future__ import annotations

import math
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models

# The password of every cloned family account (and of the reference commune's first family).
PASSWORD = "une phrase de passe de banc d'essai"  # noqa: S105 (a throwaway database's)
TEMPLATE_SLUG = "commune"  # the clones are commune-1, commune-2, …
CHUNK = 20  # clones per INSERT … SELECT


@dataclass
class Column:
    name: str
    how: str  # "copy", "shift" (by the span of `target`), "suffix" (text), "uuid"
    target: str | None = None  # the db_table whose span shifts this column
    max_length: int | None = None


@dataclass
class Table:
    model: type[models.Model]
    name: str
    pk: str
    columns: list[Column] = field(default_factory=list)

    def shifted(self) -> list[Column]:
        return [c for c in self.columns if c.how == "shift" and c.name != self.pk]


def commune_models() -> list[type[models.Model]]:
    """Commune, and every concrete model with a foreign key to one of them (to a fixed point):
    the tables that hold a commune's rows."""
    from parvis.communes.models import Commune

    candidates = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    scoped = {Commune}
    grew = True
    while grew:
        grew = False
        for model in candidates:
            if model in scoped:
                continue
            if any(
                f.is_relation and f.related_model in scoped for f in model._meta.concrete_fields
            ):
                scoped.add(model)
                grew = True
    return sorted(scoped, key=lambda m: m._meta.db_table)


def _unique_sets(model) -> list[set[str]]:
    """The column sets that the database keeps unique (whatever the condition)."""
    by_name = {f.name: f.column for f in model._meta.concrete_fields}
    sets = [{f.column} for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    sets += [{by_name[name] for name in names} for names in model._meta.unique_together]
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        names = set(constraint.fields)
        for expression in constraint.expressions:
            names |= {node.name for node in _flatten(expression) if isinstance(node, models.F)} | {
                node for node in _flatten(expression) if isinstance(node, str)
            }
        sets.append({by_name.get(name, name) for name in names})
    return sets


def _flatten(expression):
    if isinstance(expression, str):
        yield expression
        return
    yield expression
    for source in getattr(expression, "get_source_expressions", lambda: [])():
        if source is not None:
            yield from _flatten(source)


def clone_plan() -> list[Table]:
    scoped = commune_models()
    plan = []
    for model in scoped:
        meta = model._meta
        if not isinstance(meta.pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
            raise ValueError(f"{meta.label}: a commune's table needs an integer primary key")
        table = Table(model=model, name=meta.db_table, pk=meta.pk.column)
        shifted = {meta.pk.column} | {
            f.column for f in meta.concrete_fields if f.is_relation and f.related_model in scoped
        }
        suffixed = set()
        for columns in _unique_sets(model):
            if columns & shifted:
                continue  # unique within its commune's rows, hence within the clone's
            suffixed |= columns
        for f in meta.concrete_fields:
            if f.column == meta.pk.column:
                table.columns.append(Column(f.column, "shift", meta.db_table))
            elif f.is_relation and f.related_model in scoped:
                table.columns.append(Column(f.column, "shift", f.related_model._meta.db_table))
            elif f.column in suffixed and isinstance(f, models.CharField | models.TextField):
                table.columns.append(Column(f.column, "suffix", max_length=f.max_length))
            elif f.column in suffixed and isinstance(f, models.UUIDField):
                table.columns.append(Column(f.column, "uuid"))
            elif f.column in suffixed:
                table.columns.append(Column(f.column, "unique"))  # refused if it has rows
            else:
                table.columns.append(Column(f.column, "copy"))
        plan.append(table)
    return plan


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def max_ids(cursor, plan: list[Table]) -> dict[str, int]:
    """The highest id of every commune's table: what a template built afterwards is above."""
    found = {}
    for table in plan:
        cursor.execute(f"SELECT coalesce(max({q(table.pk)}), 0) FROM {q(table.name)}")  # noqa: S608
        found[table.name] = cursor.fetchone()[0]
    return found


def template_ranges(cursor, plan: list[Table], since: dict[str, int]) -> dict[str, tuple]:
    """(lowest, highest) id of the rows built after the snapshot `since`, by table (only the
    tables that have some)."""
    ranges = {}
    for table in plan:
        cursor.execute(
            f"SELECT min({q(table.pk)}), max({q(table.pk)}) FROM {q(table.name)} "  # noqa: S608
            f"WHERE {q(table.pk)} > %s",
            [since[table.name]],
        )
        low, high = cursor.fetchone()
        if low is not None:
            ranges[table.name] = (low, high)
    return ranges


def check_template(cursor, plan: list[Table], ranges: dict, copies: int) -> None:
    """Refuses a template whose rows point outside it (a clone would point to another
    commune's rows) or whose unique columns a suffix cannot keep unique."""
    for table in plan:
        if table.name not in ranges:
            continue
        low, high = ranges[table.name]
        for column in table.columns:
            if column.how == "unique":
                raise ValueError(f"{table.name}.{column.name}: unique, not text, not shifted")
            if column.how == "suffix" and column.max_length:
                cursor.execute(
                    f"SELECT coalesce(max(length({q(column.name)})), 0) "  # noqa: S608
                    f"FROM {q(table.name)} WHERE {q(table.pk)} BETWEEN %s AND %s",
                    [low, high],
                )
                if cursor.fetchone()[0] + len(f"-{copies}") > column.max_length:
                    raise ValueError(f"{table.name}.{column.name}: too long for a suffix")
        for column in table.shifted():
            target_low, target_high = ranges.get(column.target, (1, 0))
            cursor.execute(
                f"SELECT count(*) FROM {q(table.name)} "  # noqa: S608
                f"WHERE {q(table.pk)} BETWEEN %s AND %s AND {q(column.name)} IS NOT NULL "
                f"AND {q(column.name)} NOT BETWEEN %s AND %s",
                [low, high, target_low, target_high],
            )
            outside = cursor.fetchone()[0]
            if outside:
                raise ValueError(
                    f"{table.name}.{column.name}: {outside} rows point outside the template"
                )


def _expression(column: Column, spans: dict[str, int]) -> str:
    name = f"t.{q(column.name)}"
    if column.how == "shift":
        return f"{name} + k * {spans.get(column.target, 0)}"
    if column.how == "suffix":
        return f"{name} || '-' || k"
    if column.how == "uuid":
        return f"md5({name}::text || '-' || k)::uuid"
    return name


def clone(cursor, plan: list[Table], ranges: dict, copies: int, *, chunk: int = CHUNK) -> dict:
    """Copies the template's rows `copies` times (clone k: every shifted id + k × span); returns
    the rows written by table."""
    spans = {name: high - low + 1 for name, (low, high) in ranges.items()}
    written = Counter()
    for first in range(1, copies + 1, chunk):
        last = min(copies, first + chunk - 1)
        for table in plan:
            if table.name not in ranges:
                continue
            low, high = ranges[table.name]
            columns = ", ".join(q(c.name) for c in table.columns)
            values = ", ".join(_expression(c, spans) for c in table.columns)
            cursor.execute(
                f"INSERT INTO {q(table.name)} ({columns}) SELECT {values} "  # noqa: S608
                f"FROM generate_series(%s, %s) AS k CROSS JOIN {q(table.name)} AS t "
                f"WHERE t.{q(table.pk)} BETWEEN %s AND %s ORDER BY k, t.{q(table.pk)}",
                [first, last, low, high],
            )
            written[table.name] += cursor.rowcount
    return dict(written)


@contextmanager
def indexes_deferred(cursor, plan: list[Table], ranges: dict, copies: int, *, rows=100_000):
    """Drops the indexes that back no constraint of the tables that will receive at least
    `rows` rows, then builds them again once the block is done (one sort each instead of
    millions of insertions in random order); yields their names."""
    tables = [
        t.name
        for t in plan
        if t.name in ranges and (ranges[t.name][1] - ranges[t.name][0] + 1) * copies >= rows
    ]
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index AS i
           WHERE i.indrelid = ANY(%s::regclass[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)""",
        [tables],
    )
    deferred = cursor.fetchall()
    for name, _definition in deferred:
        cursor.execute(f"DROP INDEX {name}")
    try:
        yield [name for name, _definition in deferred]
    finally:
        for _name, definition in deferred:
            cursor.execute(definition)


def reset_sequences(cursor, plan: list[Table]) -> None:
    for sql in connection.ops.sequence_reset_sql(no_style(), [t.model for t in plan]):
        cursor.execute(sql)


def inconsistencies(cursor, plan: list[Table]) -> dict[str, int]:
    """Rows of a commune's table pointing to a row of another commune (through a foreign key
    between two tables that both carry a commune column), or to no row at all: by
    `table.column`, only those that have some."""
    from parvis.communes.models import Commune

    by_model = {t.model: t for t in plan}
    found = {}
    for table in plan:
        commune_column = _commune_column(table.model, Commune)
        for f in table.model._meta.concrete_fields:
            if not f.is_relation or f.related_model not in by_model or f.related_model is Commune:
                continue
            target = by_model[f.related_model]
            target_commune = _commune_column(f.related_model, Commune)
            condition = f"p.{q(target.pk)} IS NULL"
            if commune_column and target_commune:
                condition += (
                    f" OR (t.{q(commune_column)} IS DISTINCT FROM p.{q(target_commune)}"
                    f" AND p.{q(target_commune)} IS NOT NULL)"
                )
            cursor.execute(
                f"SELECT count(*) FROM {q(table.name)} AS t LEFT JOIN {q(target.name)} AS p "  # noqa: S608
                f"ON p.{q(target.pk)} = t.{q(f.column)} "
                f"WHERE t.{q(f.column)} IS NOT NULL AND ({condition})"
            )
            count = cursor.fetchone()[0]
            if count:
                found[f"{table.name}.{f.column}"] = count
    return found


def _commune_column(model, commune_model) -> str | None:
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is commune_model:
            return f.column
    return None


def counters_not_equal(cursor) -> int:
    """(unit, day) pairs whose seat counter differs from the bookings holding a seat (the units
    without a capacity, such as the canteen, need no counter; a counter they have must match)."""
    from parvis.activities.models import SEAT_HOLDING, Reservation, Unit, UnitDay

    statuses = ", ".join(["%s"] * len(SEAT_HOLDING))
    cursor.execute(
        f"""SELECT count(*) FROM (
              SELECT r.unit_id, r.day, count(*) AS held
              FROM {q(Reservation._meta.db_table)} AS r
              JOIN {q(Unit._meta.db_table)} AS unit ON unit.id = r.unit_id
              WHERE r.status IN ({statuses}) AND unit.capacity IS NOT NULL
              GROUP BY r.unit_id, r.day) AS r
            FULL JOIN {q(UnitDay._meta.db_table)} AS u
              ON u.unit_id = r.unit_id AND u.day = r.day
            WHERE coalesce(u.taken, 0) <> coalesce(r.held, 0)""",  # noqa: S608
        list(SEAT_HOLDING),
    )
    return cursor.fetchone()[0]


def booking_end(today: date, unit_days_per_child: int) -> date | None:
    """The last day to book so that each child of the bench has about `unit_days_per_child`
    booked unit-days from the start of the school year (None: the whole year)."""
    from parvis.activities import bench as activities_bench
    from parvis.activities.models import Activity, Runs, Unit
    from parvis.communes.models import Commune

    start, end = activities_bench.school_year(today)
    activity = Activity(commune=Commune(holiday_zone="C"), runs=Runs.SCHOOL, start=start, end=end)
    per_day = Counter()
    for _code, _label, _from, _to, weekdays, booked in activities_bench.UNITS:
        for day in activities_bench._open_days(activity, Unit(weekdays=weekdays)):
            if day.weekday() in booked:
                per_day[day] += 1
    total = 0
    for day in sorted(per_day):
        total += per_day[day]
        if total >= unit_days_per_child:
            return day
    return None


def children_of(families: int) -> int:
    """Children of the bench builder's families (they alternate 2 and 3)."""
    return sum(2 + n % 2 for n in range(families))


def sizes(*, communes: int, families_total: int, unit_days: int, reference: tuple[int, int]):
    """Families per cloned commune and the booked unit-days per child they need, given the
    reference commune's (families, booked unit-days)."""
    others = max(1, communes - 1)
    reference_families, reference_days = reference
    per_commune = max(1, math.ceil((families_total - reference_families) / others))
    per_child = math.ceil(max(0, unit_days - reference_days) / (children_of(per_commune) * others))
    return per_commune, per_child


def add_billing(world: dict, *, month: date):
    """The régie of a bench commune, as billing/bench.py builds it for its invoicing communes."""
    from parvis.billing import bench as billing_bench

    return billing_bench.add_billing(world, month=month)


def build_template(
    families: int, *, today: date, unit_days_per_child: int, month: date, build_commune
):
    """The commune every clone copies: the bench builder's, booked from the start of the year
    to the day that gives each child about `unit_days_per_child`, its régie, `month`
    invoiced, its family accounts' password PASSWORD. `build_commune` is the bench builder
    (portal/management/commands/bench.py's)."""
    from django.contrib.auth.hashers import make_password

    from parvis.accounts.models import User
    from parvis.activities import bench as activities_bench
    from parvis.billing.services_runs import issue_run

    world = build_commune(families, slug=TEMPLATE_SLUG)
    start, _end = activities_bench.school_year(today)
    last = booking_end(today, unit_days_per_child)
    world.update(
        activities_bench.build_bookings(
            world["commune"], world["service"], today, only=None if last is None else (start, last)
        )
    )
    world["regie"] = add_billing(world, month=month)
    issue_run(regie=world["regie"], month=month, actor=None)
    User.objects.filter(commune=world["commune"], is_staff=False).update(
        password=make_password(PASSWORD)
    )
    return world
