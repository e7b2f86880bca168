"""A query of every request, its SQL worked out once (issue 23, the per-request floor).

Django compiles a queryset into SQL each time it runs it: for the wide rows every page reads (the
commune of the URL, the logged-in account with its commune, the household grid's children and
bookings) that costs more than the query itself (0.3–2.4 ms of CPU on PostgreSQL, measured with
`manage.py bench_journey`). `Prepared` compiles its queryset the first time, in each thread, and
runs the same statement afterwards with the values of the request: the rows, their types (the
database's converters) and the model instances (`from_db`, `select_related` included) are
exactly the ORM's.

What is kept is SQL text and the positions of the request's values in its parameters: they
depend only on the models, the database's vendor and the shape of the values (the length of an
`__in` list), never on data, so every process builds the same and nothing has to be invalidated.

A commune's table (parvis.communes.tenancy): its manager adds `commune_id = <current commune>`
to the SQL. The statement is compiled twice, once with the request's values in the request's
commune and once with stand-in values (numbers, texts and dates no query holds as constants;
never run) in a stand-in commune: a parameter that holds the stand-in commune is the current
commune's place, one that holds a stand-in value that value's place (an `__in` list: each of its
elements), and every other parameter must be the same constant in both. Places are found by
difference, not by equality: a value equal to the commune's id or to a constant is placed
exactly. Each run puts the current commune in every commune place: a statement compiled in
commune A and run in commune B reads B's rows. Refused (the ORM runs the query, and that shape
stays the ORM's in this thread): SQL text that differs between the two compiles (the query's
shape depends on a value), a parameter that changes otherwise, a constant equal to the current
commune's id (a commune frozen in the build function rather than taken from the scope: it would
be kept for the next request), a value that lands nowhere. A statement compiled without a
current commune is kept apart and used only without one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

from parvis.communes import tenancy

# The values a query may take as they are: numbers, texts, dates (a datetime is not a plain
# date: refused) and tuples of numbers (an `__in` list: one statement per length). Any other
# type goes through the ORM as usual. The stand-in numbers: within every integer field's range
# (Django turns a value out of a field's range into « no row » before any SQL), and far from any
# id, count or amount of Parvis.
_STANDIN = 2_000_000_000
_STANDIN_COMMUNE = 2_100_000_000
_STANDIN_DAY = date(1001, 1, 1)
# Stand-ins far apart (a value the build function shifts, `lo + 1`, lands on no other's), and a
# text holding what a lookup escapes or folds (`%`, `_`, `\`, capitals: `__iexact` on SQLite
# escapes its value, so a value passed changed is never taken for one passed as it is).
_SPREAD = 9_973
_SPREAD_DAYS = 1_009
_INT64 = range(-(2**63), 2**63)
_MAX_SHAPES = 64  # statements (or refusals) kept per query and thread: one per shape
_COMMUNE = -1  # a place's source: the current commune


@dataclass(frozen=True)
class _Compiled:
    model: type[Model]
    kind: str  # "model", "tuples" or "flat"
    alias: str
    sql: str
    params: tuple
    places: tuple  # (position, value index or _COMMUNE, element index or None, form)
    compiler: object
    converters: dict
    start: int
    end: int
    init_list: list[str]
    populators: list


class Prepared:
    """`build(*values)` gives the queryset (same shape whatever the values: filters on them,
    `select_related` or `values_list`, no slicing, no annotation; the commune from the scope,
    never named in it; depending on nothing but its values and the scope — no clock, setting
    or language, which the first compile would freeze — and not branching on a value, which
    the two compiles catch only when the stand-in falls on the other side); `first(*values)`
    the row of a lookup by a unique key or None (no ORDER BY nor LIMIT is added: with several
    rows, which one is not defined), `all(*values)` its rows (model instances, tuples or flat
    values, as the queryset's). `commune_id=`: the rows of that commune (the scope the query
    runs in), else the current one's."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._local = threading.local()

    def first(self, *values, commune_id: int | None = None) -> Model | None:
        with _scope(commune_id):
            rows = self._run(values, one=True)
            if rows is None:
                return self.build(*values).first()
        return rows[0] if rows else None

    def all(self, *values, commune_id: int | None = None) -> list:
        with _scope(commune_id):
            rows = self._run(values, one=False)
            if rows is None:
                return list(self.build(*values))
        return rows

    def _run(self, values: tuple, *, one: bool) -> list | None:
        shape = _shape(values)
        if shape is None:
            return None
        commune = tenancy.current_commune_id()
        key = (commune is not None, shape)
        kept = getattr(self._local, "compiled", None)
        if kept is None:
            kept = self._local.compiled = {}
        compiled = kept.get(key)
        if compiled is None:
            if len(kept) >= _MAX_SHAPES:
                return None  # the ORM, rather than compiling twice on every call
            # A refusal is kept too (False): the ORM runs that shape from then on, in this
            # thread, without compiling it twice again.
            compiled = kept[key] = compile_query(self.build, values, commune) or False
        if compiled is False:
            return None
        params = list(compiled.params)
        for position, index, element, form in compiled.places:
            if index == _COMMUNE:
                value = commune
            else:
                value = values[index] if element is None else values[index][element]
            params[position] = value if form is None else form(value)
        with statement_cursor(compiled.alias) as cursor:
            cursor.execute(compiled.sql, params)
            rows = [cursor.fetchone()] if one else cursor.fetchall()
        if not rows or rows[0] is None:
            return []
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        if compiled.kind == "flat":
            return [row[0] for row in rows]
        if compiled.kind == "tuples":
            return [tuple(row) for row in rows]
        return [_instance(compiled, row) for row in rows]


def statement_cursor(alias: str):
    """A cursor for a statement written once: on PostgreSQL, when prepared statements are on
    (settings: PARVIS_DB_PREPARE), one that binds on the server side and asks psycopg to
    prepare the statement on this connection, so PostgreSQL plans it once per connection, without
    the values (settings: plan_cache_mode), instead of at every run (the household's
    inscriptions: 1.5 ms of planning each time, 9 times a family's journey). Everything else
    keeps Django's client-side binding. Django's wrapper still runs around it (errors, execute
    wrappers)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return connection.cursor()
    if not settings.PARVIS_DB_PREPARE or connection.queries_logged:
        # Logged (DEBUG, a test capturing queries): Django's cursor, whose log shows the SQL
        # with its values (a statement bound on the server would be logged without them).
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _PreparingCursor(connection.connection)
        _same_timezone(connection, cursor)
        return connection._prepare_cursor(cursor)


# Statements kept prepared per connection (psycopg's default: 100, then the oldest is dropped and
# prepared again at its next run): one per statement written once and shape of its values (the
# length of an `__in` list, an integer's width).
PREPARED_MAX = 500


def _same_timezone(connection, cursor) -> None:
    """As Django's own cursors: the connection's time zone when it changed since the connection
    was opened (a test's TIME_ZONE)."""
    tzloader = connection.connection.adapters.get_loader(_TIMESTAMPTZ, _TEXT)
    if connection.timezone != tzloader.timezone:
        _register_tzloader(connection.timezone, cursor)


def _preparing_cursor_class():
    class PreparingCursor(ServerBindingCursor):
        """Prepares its statement at the first run on a connection, runs it prepared after.
        psycopg keeps its prepared names only while the connection has a threshold, which
        Django leaves unset (for every other statement: nothing counted, nothing prepared)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            connection = self.connection
            threshold = connection.prepare_threshold  # None, unless OPTIONS set one
            if connection.prepared_max < PREPARED_MAX:
                connection.prepared_max = PREPARED_MAX
            connection.prepare_threshold = 0
            try:
                return super().execute(query, params, prepare=True, binary=binary)
            finally:
                connection.prepare_threshold = threshold

    return PreparingCursor


try:
    from django.db.backends.postgresql.base import ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import register_tzloader as _register_tzloader
    from psycopg.postgres import types as _types
    from psycopg.pq import Format as _Format
except ImportError:  # no psycopg 3: SQLite only
    _PreparingCursor = None
else:
    _TIMESTAMPTZ, _TEXT = _types["timestamptz"].oid, _Format.TEXT
    _PreparingCursor = _preparing_cursor_class()


def _scope(commune_id: int | None):
    if commune_id is None or tenancy.current_commune_id() == commune_id:
        return nullcontext()
    return tenancy.scope(commune_id)


def _instance(compiled: _Compiled, row) -> Model:
    obj = compiled.model.from_db(
        compiled.alias, compiled.init_list, row[compiled.start : compiled.end]
    )
    for populator in compiled.populators:
        populator.populate(row, obj)
    return obj


def _shape(values: tuple) -> tuple | None:
    shape = []
    for value in values:
        if type(value) is tuple:
            if not value or not all(type(v) is int and v in _INT64 for v in value):
                return None  # an empty list: the ORM knows there is no row
            shape.append(len(value))
        elif type(value) is int and value not in _INT64:
            return None  # the ORM's « no row » rather than the driver's overflow
        elif type(value) in (int, str, date):
            shape.append(type(value))
        else:
            return None
    return tuple(shape)


def _standins(values: tuple) -> tuple[tuple, dict]:
    """Values of the same shape no row holds, and where each comes from: (type, standin) →
    (value index, element index or None, as text)."""
    standins, origin, n = [], {}, 0

    def standin(value, index, element):
        nonlocal n
        n += 1
        if type(value) is int:
            made = _STANDIN + _SPREAD * n
            origin[(int, made)] = (index, element, False)
        elif type(value) is str:
            made = f"\x1fParvis_%\\ {n}\x1f"
            origin[(str, made)] = (index, element, False)
        else:
            made = _STANDIN_DAY + timedelta(days=_SPREAD_DAYS * n)
            origin[(date, made)] = (index, element, False)
            origin[(str, made.isoformat())] = (index, element, True)  # SQLite's dates
        return made

    for index, value in enumerate(values):
        if type(value) is tuple:
            standins.append(tuple(standin(v, index, e) for e, v in enumerate(value)))
        else:
            standins.append(standin(value, index, None))
    return tuple(standins), origin


def _kind(queryset: QuerySet) -> str | None:
    query = queryset.query
    if query.combinator or query.extra_select or query.annotation_select:
        return None
    if query.low_mark or query.high_mark or query.select_for_update:
        return None
    if queryset._prefetch_related_lookups or queryset._known_related_objects:
        return None  # what the ORM does after the statement
    return {ModelIterable: "model", ValuesListIterable: "tuples",
            FlatValuesListIterable: "flat"}.get(queryset._iterable_class)  # fmt: skip


def _is_int(param) -> bool:
    return isinstance(param, int) and not isinstance(param, bool)


def _key(param):
    """How a parameter is looked up among the stand-ins (psycopg's Int4(n) as n)."""
    if _is_int(param):
        return (int, int(param))
    if type(param) is date:
        return (date, param)
    if isinstance(param, str):
        return (str, str(param))
    return None


def _wrapper(param, value):
    """What the ORM made of the value (psycopg's Int4, Int8… on PostgreSQL), or None."""
    return None if type(param) is type(value) else type(param)


def compile_query(build: Callable[..., QuerySet], values: tuple, commune: int | None):
    """The statement of `build(*values)` in the current commune (`commune`) and the places of
    the values and of the commune in its parameters, or None when they cannot be told apart
    (then the ORM runs it)."""
    queryset = build(*values)
    kind = _kind(queryset)
    if kind is None:
        return None
    alias = router.db_for_read(queryset.model)
    compiler = queryset.query.get_compiler(using=alias)
    standins, origin = _standins(values)
    try:
        sql, params = compiler.as_sql()
        with tenancy.scope(_STANDIN_COMMUNE if commune is not None else None):
            other = build(*standins).query.get_compiler(using=alias)
            other_sql, other_params = other.as_sql()
    except Exception:  # a value the stand-in cannot be, or no row at all: the ORM says
        return None
    if sql != other_sql or len(params) != len(other_params):
        return None
    places, placed = [], set()
    for position, (param, other) in enumerate(zip(params, other_params, strict=True)):
        if type(param) is not type(other):
            return None  # psycopg's Int4 and the like wrap both, or neither
        if commune is not None and _is_int(other) and other == _STANDIN_COMMUNE:
            if param != commune:
                return None
            places.append((position, _COMMUNE, None, _wrapper(other, commune)))
            continue
        source = origin.get(_key(other))
        if source is not None:
            index, element, as_text = source
            value = values[index] if element is None else values[index][element]
            expected = value.isoformat() if as_text else value
            if param != expected:
                return None
            form = date.isoformat if as_text else _wrapper(other, value)
            places.append((position, index, element, form))
            placed.add((index, element))
            continue
        if param != other:
            return None  # a parameter that changes with neither values nor commune
        if commune is not None and _is_int(param) and param == commune:
            return None  # a commune frozen in the query (or a constant one cannot tell apart)
    if placed != {key[:2] for key in origin.values()}:
        return None  # a value that lands nowhere (transformed on its way): not understood
    select, klass_info = compiler.select, compiler.klass_info
    fields = [column[0] for column in select[: compiler.col_count]]
    start = end = 0
    init_list, populators = [], []
    if kind == "model":
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, alias)
    return _Compiled(
        model=queryset.model,
        kind=kind,
        alias=alias,
        sql=sql,
        params=tuple(params),
        places=tuple(places),
        compiler=compiler,
        converters=compiler.get_converters(fields),
        start=start,
        end=end,
        init_list=init_list,
        populators=populators,
    )
