"""Issue 18 §2: the schema ready for a sharded PostgreSQL (Citus) distributed by `commune_id`.

A commune's table is a table whose rows carry a required `commune_id` (`CommuneOwned`,
`CommuneChild`, background.Job). On PostgreSQL, `EnsureCommuneKeys` (a migration operation,
no-op elsewhere) makes the database itself refuse a row that points to another commune's row:

- every commune table that another one references gets UNIQUE (commune_id, id);
- every foreign key between two commune tables that the database checks (`db_constraint`:
  all but the bookings' history's, issue 23) gets its twin FOREIGN KEY (commune_id, x_id)
  REFERENCES parent (commune_id, id) (a row of commune A pointing to a row of commune B is
  refused, and it is the foreign key Citus accepts between co-located distributed tables);
- every unique constraint of a commune table that lacks `commune_id` is rebuilt, under the
  same name, with `commune_id` first (the rule is the same: each of its fields already
  determines the commune; Citus requires the distribution column in every unique constraint);
- every single-column unique field of a commune table (one-to-one fields, tokens, references)
  becomes UNIQUE (column, commune_id) — the column first, so that its index still serves the
  lookups by the column alone (PostgreSQL's own check of a one-to-one's foreign key when its
  parent is deleted, a cascade outside a commune's scope) — named
  `<table>_<column>_commune_uniq`, and its single-column constraint is dropped. A one-to-one
  to a commune table is the same rule (the composite foreign key ties the row to its parent's
  commune); a one-to-one to an account (accounts_user, a reference table) allows one row per
  account and commune, and an account belongs to one commune; the tokens and references are
  looked up with the commune of their address, and they are random (unique by construction)
  anyway. README « Towards a distributed PostgreSQL (Citus) » lists them.

Django cannot declare composite foreign keys, so they are computed here from the models (the
migration's historical ones) and the operation is idempotent: a later migration that adds a
table or a foreign key between commune tables runs it again (a PostgreSQL test fails until it
does). The models keep their own, unchanged, constraints, so forms validate as before.

Once a composite foreign key is validated, Django's single-column foreign key on the same column
(x_id → parent.id) checks nothing more: `commune_id` is NOT NULL, so the composite one refuses
every row the single one would, and a parent's deletion is checked by both alike. On PostgreSQL
each of them is a trigger per inserted row, checked at the commit (issue 23: a family's
« Valider » writes a hundred bookings and as many history rows, 7–8 checks each then; since
migration activities 0009, 3 for a booking and none for its history: DropUncheckedCommuneKeys,
DropCoveredCommuneKey).
`DropTwinnedForeignKeys` (a later migration, after EnsureCommuneKeys) drops the single ones;
the models keep them (Django's deletion collector, `on_delete`, forms and SQLite are unchanged).
A migration that adds a foreign key between commune tables runs both operations again (a
PostgreSQL test fails until it does). What a later AlterField of such a field does: Django
finds no single-column foreign key to drop and so creates none (the composite one stays, as
before); only a change of the parent's primary key type makes Django add the single one back,
which the next DropTwinnedForeignKeys drops again.

Big tables (activities_reservation: 30 million rows in `make bench-scale`): run outside a
transaction (the migrations that run it are `atomic = False`), every index is built
`CONCURRENTLY` (reads and writes go on; a failed build leaves an invalid index, dropped and
built again by the next run) and swapped in by name (a catalogue change, instant); each foreign
key is added `NOT VALID` (instant: only new rows are checked) and then validated by `VALIDATE
CONSTRAINT`, whose full scan holds a lock that lets reads and writes go on. Nothing rewrites a
table. Inside a transaction (tests, `sqlmigrate`) the same statements run without CONCURRENTLY.
"""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import migrations, models

COMMUNE_MODEL = "communes.commune"


def is_commune_table(model) -> bool:
    """A concrete, managed model whose rows carry a required commune."""
    meta = model._meta
    if meta.proxy or not meta.managed or meta.abstract:
        return False
    try:
        field = meta.get_field("commune_id") if _has_bare_id(model) else meta.get_field("commune")
    except FieldDoesNotExist:
        return False
    if field.null:
        return False
    if field.is_relation:
        return field.related_model._meta.label_lower == COMMUNE_MODEL
    return True


def _has_bare_id(model) -> bool:
    return any(f.name == "commune_id" and not f.is_relation for f in model._meta.concrete_fields)


@dataclass(frozen=True)
class Statement:
    name: str  # the constraint's (or unique index's) name in PostgreSQL
    table: str
    kind: str  # "key", "unique" (a model's constraint rebuilt), "column", "foreign"
    columns: tuple[str, ...]  # what it covers once built, commune_id first
    references: str = ""  # "foreign": the parent table


def _short(name: str) -> str:
    """PostgreSQL's names stop at 63 bytes: a long one keeps its start and a digest."""
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.md5(name.encode()).hexdigest()[:8]}"  # noqa: S324


def statements(apps) -> list[Statement]:
    """What EnsureCommuneKeys builds, in order: the parents' keys, the unique constraints rebuilt,
    the single-column uniques, then the composite foreign keys."""
    commune_models = [m for m in apps.get_models() if is_commune_table(m)]
    tables = {m._meta.db_table for m in commune_models}
    keys, uniques, columns, foreign = {}, [], [], []
    for model in sorted(commune_models, key=lambda m: m._meta.db_table):
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.name == "commune":
                continue
            parent = field.related_model
            if parent._meta.db_table not in tables or not field.db_constraint:
                continue
            ptable = parent._meta.db_table
            keys[ptable] = Statement(
                _short(f"{ptable}_commune_key"), ptable, "key", ("commune_id", "id")
            )
            foreign.append(_composite_key(model, field))
        uniques += _uniques(model)
        columns += [
            Statement(
                _short(f"{table}_{column}_commune_uniq"), table, "column", (column, "commune_id")
            )
            for column in unique_columns(model)
        ]
    return [*keys.values(), *uniques, *columns, *foreign]


def _composite_key(model, field) -> Statement:
    table = model._meta.db_table
    return Statement(
        _short(f"{table}_{field.column}_commune_fk"),
        table,
        "foreign",
        ("commune_id", field.column),
        references=field.related_model._meta.db_table,
    )


def unchecked_keys(apps) -> list[Statement]:
    """The composite keys of the foreign keys between commune tables that the database does not
    check (`db_constraint=False`: activities.BookingEvent's, issue 23): DropUncheckedCommuneKeys
    drops them where an earlier EnsureCommuneKeys built them."""
    commune_models = [m for m in apps.get_models() if is_commune_table(m)]
    tables = {m._meta.db_table for m in commune_models}
    return [
        _composite_key(model, field)
        for model in sorted(commune_models, key=lambda m: m._meta.db_table)
        for field in model._meta.concrete_fields
        if field.is_relation
        and field.name != "commune"
        and not field.db_constraint
        and field.related_model._meta.db_table in tables
    ]


def unique_columns(model) -> list[str]:
    """The columns of `model` unique on their own (unique=True, one-to-one), commune_id aside."""
    return [
        field.column
        for field in model._meta.concrete_fields
        if field.unique and not field.primary_key and field.column != "commune_id"
    ]


def _uniques(model) -> list[Statement]:
    table = model._meta.db_table
    found = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            continue
        if "commune" in constraint.fields or "commune_id" in constraint.fields:
            continue
        columns = tuple(model._meta.get_field(name).column for name in constraint.fields)
        found.append(Statement(constraint.name, table, "unique", ("commune_id", *columns)))
    return found


class OnPostgreSQL(migrations.operations.base.Operation):
    """A migration operation on the database alone (the models' state unchanged), on
    PostgreSQL only: `forwards` and `backwards` take what Django's database_* methods take."""

    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.backwards(app_label, schema_editor, from_state, to_state)

    def forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        raise NotImplementedError

    def backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        raise NotImplementedError


class EnsureCommuneKeys(OnPostgreSQL):
    """Builds, on PostgreSQL, what `statements` lists and the database lacks.

    Reversed, it drops what it built only where the state before it would not have it built:
    an earlier EnsureCommuneKeys built every key of that state, and reversing a later run must
    leave them. `first=True` (the first run, migration rgpd 0005) drops them all."""

    def __init__(self, first: bool = False):
        self.first = first
        super().__init__()

    def forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        apps = to_state.apps
        wanted = statements(apps)
        for statement in wanted:
            if statement.kind != "foreign" and not _is_built(schema_editor, statement):
                _build(schema_editor, apps, statement)
        # The foreign keys: each added NOT VALID (instant), then each validated (a scan that
        # blocks no write, once each addition has committed: outside a transaction).
        _add_foreign_keys(schema_editor, [s for s in wanted if s.kind == "foreign"])

    def backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        apps = from_state.apps
        kept = set() if self.first else {s.name for s in statements(to_state.apps)}
        for statement in reversed(statements(apps)):
            if statement.name not in kept and _is_built(schema_editor, statement):
                _unbuild(schema_editor, apps, statement)

    def describe(self):
        return "Composite (commune_id, …) keys between a commune's tables (PostgreSQL)"


def _add_foreign_keys(schema_editor, wanted: list[Statement]) -> None:
    """Each composite foreign key the database lacks added NOT VALID (instant), then each
    validated (a scan that blocks no write, once each addition has committed: outside a
    transaction)."""
    for statement in wanted:
        if not _is_built(schema_editor, statement):
            schema_editor.execute(
                f'ALTER TABLE "{statement.table}" DROP CONSTRAINT IF EXISTS "{statement.name}"'
            )
            schema_editor.execute(
                f'ALTER TABLE "{statement.table}" ADD CONSTRAINT "{statement.name}" '
                f'FOREIGN KEY ("commune_id", "{statement.columns[1]}") REFERENCES '
                f'"{statement.references}" ("commune_id", "id") DEFERRABLE INITIALLY '
                "DEFERRED NOT VALID"
            )
    for statement in wanted:
        if not _is_validated(schema_editor, statement):
            schema_editor.execute(
                f'ALTER TABLE "{statement.table}" VALIDATE CONSTRAINT "{statement.name}"'
            )


class DropUncheckedCommuneKeys(OnPostgreSQL):
    """Drops, on PostgreSQL, the composite (commune_id, x_id) keys of `model_name`'s foreign
    keys that no longer ask the database to check them (`unchecked_keys`; run after the
    AlterField that sets `db_constraint=False`, in the same app). A catalogue change per
    constraint. Reversed, it builds them again (NOT VALID, then validated: inside an atomic
    migration the validation holds its lock to the commit) before the reversed AlterField
    gives back Django's own."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        super().__init__()

    def _keys(self, app_label, apps) -> list[Statement]:
        table = apps.get_model(app_label, self.model_name)._meta.db_table
        return [statement for statement in unchecked_keys(apps) if statement.table == table]

    def forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for statement in self._keys(app_label, to_state.apps):
            schema_editor.execute(
                f'ALTER TABLE "{statement.table}" DROP CONSTRAINT IF EXISTS "{statement.name}"'
            )

    def backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        _add_foreign_keys(schema_editor, self._keys(app_label, from_state.apps))

    def describe(self):
        return f"Composite keys of {self.model_name}'s unchecked foreign keys (PostgreSQL)"


class DropCoveredCommuneKey(OnPostgreSQL):
    """Drops, on PostgreSQL, `model_name`'s own foreign key to the commune and its index on
    `commune_id` alone, where a validated composite (commune_id, x_id) key of the table already
    refuses a commune that does not exist (its parent's row keeps its own key to the commune)
    and another index begins with `commune_id` (the unique ones rebuilt by EnsureCommuneKeys).
    The model keeps both, so SQLite, whose keys and unique indexes are Django's, keeps them.
    Reversed: the index built again and the key added NOT VALID, then validated."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        super().__init__()

    def _parts(self, app_label, apps):
        model = apps.get_model(app_label, self.model_name)
        field = model._meta.get_field("commune")
        return model, field, model._meta.db_table, field.related_model._meta.db_table

    def forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        _model, _field, table, parent = self._parts(app_label, to_state.apps)
        covered = [
            s
            for s in statements(to_state.apps)
            if s.kind == "foreign" and s.table == table and _is_validated(schema_editor, s)
        ]
        others = [
            columns
            for columns in index_columns(schema_editor.connection, table)
            if columns[0] == "commune_id" and len(columns) > 1
        ]
        if not covered or not others:  # never the only check nor the only index
            return
        for name in single_foreign_keys(schema_editor.connection, table, "commune_id", parent):
            schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
        for name in single_column_indexes(schema_editor.connection, table, "commune_id"):
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    def backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        model, field, table, parent = self._parts(app_label, to_state.apps)
        if not single_column_indexes(schema_editor.connection, table, "commune_id"):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
        if not single_foreign_keys(schema_editor.connection, table, "commune_id", parent):
            sql = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
            schema_editor.execute(f"{sql} NOT VALID")
            for name in single_foreign_keys(schema_editor.connection, table, "commune_id", parent):
                schema_editor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')

    def describe(self):
        return f"{self.model_name}'s own key and index on commune_id, covered (PostgreSQL)"


def index_columns(connection, table: str) -> list[list[str]]:
    """The columns, in order, of each valid index of `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s::regclass AND i.indisvalid GROUP BY i.indexrelid",
            [f'"{table}"'],
        )
        return [list(row[0]) for row in cursor.fetchall()]


def single_column_indexes(connection, table: str, column: str) -> list[str]:
    """The names of the plain (not unique) indexes of `table` on `column` alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = %s::regclass AND i.indnatts = 1 AND NOT i.indisunique "
            "AND i.indpred IS NULL AND a.attname = %s ORDER BY c.relname",
            [f'"{table}"', column],
        )
        return [row[0] for row in cursor.fetchall()]


def built_columns(connection, name: str) -> list[str] | None:
    """The columns, in order, of the valid unique index or the foreign key named `name`; None
    when there is none (or only an invalid index, left by a failed concurrent build)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE c.relname = %s AND i.indisunique AND i.indisvalid "
            "UNION ALL SELECT array_agg(a.attname ORDER BY k.n) FROM pg_constraint f "
            "CROSS JOIN LATERAL unnest(f.conkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum "
            "WHERE f.conname = %s AND f.contype = 'f' GROUP BY f.oid",
            [name, name],
        )
        rows = [row[0] for row in cursor.fetchall() if row[0]]
    return list(rows[0]) if rows else None


def _is_built(schema_editor, statement: Statement) -> bool:
    return built_columns(schema_editor.connection, statement.name) == list(statement.columns)


def _is_validated(schema_editor, statement: Statement) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = %s AND contype = 'f'",
            [statement.name],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _model(apps, table: str):
    return next(m for m in apps.get_models() if m._meta.db_table == table)


def _concurrently(schema_editor) -> str:
    return "" if schema_editor.connection.in_atomic_block else " CONCURRENTLY"


def _build_index(schema_editor, name: str, table: str, columns, condition: str = "") -> None:
    """A unique index built without blocking writes (outside a transaction); an invalid one of
    the same name (a build that failed) goes first."""
    concurrently = _concurrently(schema_editor)
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{name}"')
    quoted = ", ".join(f'"{column}"' for column in columns)
    where = f" WHERE {condition}" if condition else ""
    schema_editor.execute(
        f'CREATE UNIQUE INDEX{concurrently} "{name}" ON "{table}" ({quoted}){where}'
    )


def _drop_unique(schema_editor, table: str, name: str) -> None:
    """The unique constraint or unique index `name`, whichever it is."""
    schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _build(schema_editor, apps, statement: Statement) -> None:
    table, name = statement.table, statement.name
    if statement.kind == "key":
        _build_index(schema_editor, name, table, statement.columns)
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"'
        )
        return
    model = _model(apps, table)
    if statement.kind == "unique":
        # Built beside the original under another name, then swapped in under its name.
        original = next(c for c in model._meta.constraints if c.name == name)
        building = _short(f"{name}_commune")
        condition = original._get_condition_sql(model, schema_editor) or ""
        _build_index(schema_editor, building, table, statement.columns, condition)
        _drop_unique(schema_editor, table, name)
        if condition:
            schema_editor.execute(f'ALTER INDEX "{building}" RENAME TO "{name}"')
        else:
            schema_editor.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{building}"'
            )
        return
    # "column": UNIQUE (column, commune_id), then the column's own unique constraint dropped. Built
    # under another name and swapped in, as above: a constraint of that name on other columns
    # (an earlier run's order) stays until its replacement is ready.
    column = statement.columns[0]
    building = _short(f"{name}_next")
    _build_index(schema_editor, building, table, statement.columns)
    _drop_unique(schema_editor, table, name)
    schema_editor.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{building}"'
    )
    for old in schema_editor._constraint_names(model, [column], unique=True, primary_key=False):
        _drop_unique(schema_editor, table, old)


def _unbuild(schema_editor, apps, statement: Statement) -> None:
    """The state before `_build`: the original constraint, the column unique on its own."""
    table, name = statement.table, statement.name
    if statement.kind == "unique":
        model = _model(apps, table)
        original = next(c for c in model._meta.constraints if c.name == name)
        _drop_unique(schema_editor, table, name)
        schema_editor.add_constraint(model, original)
    elif statement.kind == "column":
        model = _model(apps, table)
        field = next(f for f in model._meta.concrete_fields if f.column == statement.columns[0])
        schema_editor.execute(schema_editor._create_unique_sql(model, [field]))
        _drop_unique(schema_editor, table, name)
    else:
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')


def single_foreign_keys(connection, table: str, column: str, parent: str) -> list[str]:
    """The names of the foreign keys of `table` on `column` alone that reference `parent`
    (Django's, whatever their name)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
            "AND c.conrelid = %s::regclass AND c.confrelid = %s::regclass AND a.attname = %s "
            "ORDER BY c.conname",
            [f'"{table}"', f'"{parent}"', column],
        )
        return [row[0] for row in cursor.fetchall()]


class DropTwinnedForeignKeys(OnPostgreSQL):
    """Drops, on PostgreSQL, each single-column foreign key between commune tables whose
    composite (commune_id, x_id) twin is built and validated (never the only check of a
    column). A catalogue change per constraint: nothing is scanned nor rewritten. Reversed, it
    adds them back as Django names them, NOT VALID then validated (no write-blocking scan)."""

    def forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for statement in statements(to_state.apps):
            if statement.kind != "foreign" or not _is_validated(schema_editor, statement):
                continue
            column = statement.columns[1]
            for name in single_foreign_keys(
                schema_editor.connection, statement.table, column, statement.references
            ):
                schema_editor.execute(
                    f'ALTER TABLE "{statement.table}" DROP CONSTRAINT IF EXISTS "{name}"'
                )

    def backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        apps = to_state.apps
        for statement in statements(apps):
            if statement.kind != "foreign":
                continue
            table, column, parent = statement.table, statement.columns[1], statement.references
            if single_foreign_keys(schema_editor.connection, table, column, parent):
                continue
            model = _model(apps, table)
            field = next(f for f in model._meta.concrete_fields if f.column == column)
            sql = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
            schema_editor.execute(f"{sql} NOT VALID")
            for name in single_foreign_keys(schema_editor.connection, table, column, parent):
                schema_editor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')

    def describe(self):
        return "Single-column foreign keys a composite (commune_id, …) one covers (PostgreSQL)"
