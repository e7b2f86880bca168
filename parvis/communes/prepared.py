"""A query of every request, its SQL worked out once (issue 23, the per-request floor).

Django compiles a queryset into SQL each time it runs it: for the wide rows every page reads (the
commune of the URL, the logged-in account with its commune) that costs about twice the query
itself (0.3–0.5 ms of CPU on PostgreSQL, measured with `manage.py bench_journey`). `Prepared`
compiles its queryset the first time, in each thread and database, and runs the same statement
afterwards with the values of the request: the rows, their types (the database's converters) and
the model instances (`from_db`, `select_related` included) are exactly the ORM's.

What is kept is SQL text and column positions: they depend only on the models and the database's
vendor, never on data, so every process and machine builds the same and nothing has to be
invalidated. Refused, for that reason, for a commune's table: its manager adds the current
commune (parvis.communes.tenancy) to the SQL, which would then be kept for the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

from parvis.communes.distribution import is_commune_table

# The values a query may take as they are (the ORM prepares them to themselves): any other type
# goes through the ORM as usual.
PLAIN_TYPES = (int, str)


@dataclass(frozen=True)
class _Compiled:
    model: type[Model]
    alias: str
    sql: str
    params: tuple
    positions: tuple[int, ...]  # where each value goes in params
    compiler: object
    converters: dict
    start: int
    end: int
    init_list: list[str]
    populators: list


class Prepared:
    """`build(*values)` gives the queryset (same shape whatever the values: filters on them,
    `select_related`, no slicing); `Prepared(build).first(*values)` its first row, or None."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._local = threading.local()

    def first(self, *values) -> Model | None:
        if not all(type(value) in PLAIN_TYPES for value in values):
            return self.build(*values).first()
        compiled = getattr(self._local, "compiled", None)
        if compiled is None:
            queryset = self.build(*values)
            compiled = compile_queryset(queryset, router.db_for_read(queryset.model), values)
            if compiled is None:
                return queryset.first()
            self._local.compiled = compiled
        params = list(compiled.params)
        for position, value in zip(compiled.positions, values, strict=True):
            params[position] = value
        with connections[compiled.alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if compiled.converters:
            row = next(iter(compiled.compiler.apply_converters([row], compiled.converters)))
        obj = compiled.model.from_db(
            compiled.alias, compiled.init_list, row[compiled.start : compiled.end]
        )
        for populator in compiled.populators:
            populator.populate(row, obj)
        return obj


def _models(klass_info: dict):
    yield klass_info["model"]
    for related in klass_info.get("related_klass_infos", []):
        yield from _models(related)


def compile_queryset(queryset: QuerySet, alias: str, values: tuple) -> _Compiled | None:
    """The SQL of `queryset` and where `values` go in its parameters; None when they cannot be
    told apart from one another or from the query's own constants (then the ORM runs it)."""
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    select, klass_info = compiler.select, compiler.klass_info
    for model in _models(klass_info):
        if is_commune_table(model):
            raise ImproperlyConfigured(
                f"{model._meta.label}: the current commune would be kept in the prepared SQL."
            )
    positions = []
    for value in values:
        found = [i for i, param in enumerate(params) if type(param) is type(value)
                 and param == value]  # fmt: skip
        if len(found) != 1:
            return None
        positions.append(found[0])
    if len(set(positions)) != len(positions):
        return None
    fields = [column[0] for column in select[: compiler.col_count]]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    return _Compiled(
        model=queryset.model,
        alias=alias,
        sql=sql,
        params=tuple(params),
        positions=tuple(positions),
        compiler=compiler,
        converters=compiler.get_converters(fields),
        start=start,
        end=end,
        init_list=[column[0].target.attname for column in select[start:end]],
        populators=get_related_populators(klass_info, select, alias),
    )
