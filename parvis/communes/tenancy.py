"""The commune a piece of work is for, so that every query of a commune's table says it.

Issue 18 §2: on a sharded PostgreSQL distributed by `commune_id` (Citus), a query that names the
commune of each table it reads goes to one node; one that does not goes to all of them. Views
already scope what they read by `request.commune` (selectors), mostly through a parent (an
invoice's lines through the invoice); this layer makes the commune explicit in the SQL:

- `CommuneMiddleware` sets the current commune for the request of `/<commune>/…` (`scope`);
  the background tasks of one commune's work are queued with its id and run in its scope
  (`commune_task`; the agents' jobs through `background.jobs.commune_scope`); the periodic
  commands work commune by commune, each in its scope (`for_each_commune`); code that reads
  across communes (the operator's pages, /healthz/status) runs without;
- the default and base managers of every commune table (`CommuneOwned`) add
  `commune_id = <current>` to their querysets when one is set: lists, `get`, related managers,
  prefetches, forward foreign keys, `save()`'s UPDATE;
- a join between two commune tables carries `a.commune_id = b.commune_id` (the foreign keys'
  `get_extra_restriction`, installed by `install()`), the co-located join Citus routes to one
  node. The composite foreign keys of parvis.communes.distribution make it always true.

Without a current commune nothing changes: a query reads what it always read. The same idea as
Citus's django-multitenant, in the few lines Parvis needs (no dependency, no monkey-patched
Django internals beyond the join restriction and the deletion collector's batches by id).
`parvis/tests/test_sql_commune_filter.py` runs both sides' main pages, the tasks and the
periodic commands, and fails on a statement that reads a commune table without it.
"""

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Exact
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE, NO_RESULTS
from django.db.models.sql.subqueries import DeleteQuery, UpdateQuery

T = TypeVar("T")

_current: ContextVar[int | None] = ContextVar("parvis_current_commune", default=None)


def current_commune_id() -> int | None:
    return _current.get()


@contextmanager
def scope(commune_id: int | None) -> Iterator[None]:
    """The queries of the block are for `commune_id` (None: for no commune in particular)."""
    token = _current.set(commune_id)
    try:
        yield
    finally:
        _current.reset(token)


def commune_task(func):
    """A background task's function whose work is one commune's: it is queued with
    `commune_id=` (beside its own arguments) and runs in that commune's scope, so each of its
    queries says the commune (a task queued without it runs unscoped, as before). Under
    `@task(…)`: `@task(priority=…)` then `@tenancy.commune_task` then the function."""

    @functools.wraps(func)
    def in_scope(*args, commune_id: int | None = None, **kwargs):
        with scope(commune_id):
            return func(*args, **kwargs)

    return in_scope


def for_each_commune(work: Callable[[Any], T], communes: Iterable) -> list[tuple[Any, T]]:
    """`work(commune)` for each of `communes` in turn, each in that commune's scope, so that
    every query it makes of a commune's table says the commune (issue 18 §2: on Citus, one
    node per query instead of all of them). The periodic commands' loop (their communes:
    parvis.communes.periodic.communes_named); returns [(commune, result)]."""
    done = []
    for commune in communes:
        with scope(commune.pk):
            done.append((commune, work(commune)))
    return done


def enter(commune_id: int | None):
    """Sets the current commune until `leave(token)` (a middleware's two halves)."""
    return _current.set(commune_id)


def leave(token) -> None:
    _current.reset(token)


class CommuneScopedManager(models.Manager):
    """Adds `commune_id = <current commune>` to every queryset, when there is one."""

    def get_queryset(self):
        queryset = super().get_queryset()
        commune_id = _current.get()
        if commune_id is not None:
            queryset = queryset.filter(commune_id=commune_id)
        return queryset


def _same_commune(self, alias, related_alias):
    """A join between two commune tables also matches on commune_id (Join.as_sql adds it to
    ON): `alias.commune_id = related_alias.commune_id`, the same column name on both sides."""
    if not alias:
        # exclude() across a reverse relation asks with no alias for this side (the subquery's
        # outer reference): an unqualified commune_id would be ambiguous or always true. The
        # subquery is scoped by its own table's manager filter instead.
        return None
    column = self.model._meta.get_field("commune")
    return Exact(Col(alias, column), Col(related_alias, column))


def install(all_models) -> None:
    """Once the models are loaded (CommunesConfig.ready): the commune tables' base manager is
    their scoped default manager, and their foreign keys to one another join on commune_id."""
    from parvis.communes.distribution import is_commune_table

    commune_models = {m for m in all_models if is_commune_table(m) and _has_fk(m)}
    for model in commune_models:
        if isinstance(model._default_manager, CommuneScopedManager):
            _scoped_models.add(model)
            model._meta.base_manager_name = model._default_manager.name
            model._meta.__dict__.pop("base_manager", None)
        for field in model._meta.concrete_fields:
            if (
                isinstance(field, models.ForeignKey)
                and field.name != "commune"
                and field.related_model in commune_models
            ):
                field.get_extra_restriction = _same_commune.__get__(field)
    # The deletion collector deletes (and sets to NULL) the rows it collected by their ids
    # alone: in a commune's scope these say its commune_id too.
    DeleteQuery.delete_batch = _delete_batch
    UpdateQuery.update_batch = _update_batch


_scoped_models: set = set()


def _delete_batch(self, pk_list, using):
    """DeleteQuery.delete_batch (the deletion collector's DELETE … WHERE id IN (…) of the rows
    it collected, model.delete() and queryset.delete() alike) saying the current commune."""
    commune_id = _current.get()
    if commune_id is None or self.model not in _scoped_models:
        return _django_delete_batch(self, pk_list, using)
    deleted = 0
    for offset in range(0, len(pk_list), GET_ITERATOR_CHUNK_SIZE):
        self.clear_where()
        self.add_filter("pk__in", pk_list[offset : offset + GET_ITERATOR_CHUNK_SIZE])
        self.add_filter("commune_id", commune_id)
        deleted += self.do_query(self.get_meta().db_table, self.where, using=using)
    return deleted


def _update_batch(self, pk_list, values, using):
    """UpdateQuery.update_batch (the collector's SET NULL of the rows pointing to deleted
    ones) saying the current commune."""
    commune_id = _current.get()
    if commune_id is None or self.model not in _scoped_models:
        return _django_update_batch(self, pk_list, values, using)
    self.add_update_values(values)
    for offset in range(0, len(pk_list), GET_ITERATOR_CHUNK_SIZE):
        self.clear_where()
        self.add_filter("pk__in", pk_list[offset : offset + GET_ITERATOR_CHUNK_SIZE])
        self.add_filter("commune_id", commune_id)
        self.get_compiler(using).execute_sql(NO_RESULTS)


_django_delete_batch = DeleteQuery.delete_batch
_django_update_batch = UpdateQuery.update_batch


def _has_fk(model) -> bool:
    field = next((f for f in model._meta.concrete_fields if f.name == "commune"), None)
    return field is not None and field.is_relation
