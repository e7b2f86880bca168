"""Issue 18 §2: the schema ready for a sharded PostgreSQL (Citus) distributed by `commune_id`.

A commune's table is a table whose rows carry a required `commune_id` (`CommuneOwned`,
`CommuneChild`, background.Job). On PostgreSQL, `EnsureCommuneKeys` (a migration operation,
no-op elsewhere) makes the database itself refuse a row that points to another commune's row:

- every commune table that another one references gets UNIQUE (commune_id, id);
- every foreign key between two commune tables gets its twin FOREIGN KEY (commune_id, x_id)
  REFERENCES parent (commune_id, id) (a row of commune A pointing to a row of commune B is
  refused, and it is the foreign key Citus accepts between co-located distributed tables);
- every unique constraint of a commune table that lacks `commune_id` is rebuilt, under the
  same name, with `commune_id` first (the rule is the same: each of its fields already
  determines the commune; Citus requires the distribution column in every unique constraint).

Django cannot declare composite foreign keys, so they are computed here from the models (the
migration's historical ones) and the operation is idempotent: a later migration that adds a
table or a foreign key between commune tables runs it again (a PostgreSQL test fails until it
does). The models keep their own, unchanged, constraints, so forms validate as before.
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
    name: str  # the constraint's name in PostgreSQL
    table: str
    forward: str
    backward: str


def _short(name: str) -> str:
    """PostgreSQL's names stop at 63 bytes: a long one keeps its start and a digest."""
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.md5(name.encode()).hexdigest()[:8]}"  # noqa: S324


def statements(apps) -> list[Statement]:
    """What EnsureCommuneKeys adds, in order: the parents' keys, the unique constraints rebuilt,
    then the composite foreign keys."""
    commune_models = [m for m in apps.get_models() if is_commune_table(m)]
    tables = {m._meta.db_table for m in commune_models}
    keys, uniques, foreign = {}, [], []
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
                _short(f"{ptable}_commune_key"),
                ptable,
                f'ALTER TABLE "{ptable}" ADD CONSTRAINT "%s" UNIQUE ("commune_id", "id")',
                f'ALTER TABLE "{ptable}" DROP CONSTRAINT IF EXISTS "%s"',
            )
            name = _short(f"{table}_{field.column}_commune_fk")
            foreign.append(
                Statement(
                    name,
                    table,
                    f'ALTER TABLE "{table}" ADD CONSTRAINT "%s" FOREIGN KEY ("commune_id", '
                    f'"{field.column}") REFERENCES "{ptable}" ("commune_id", "id") '
                    "DEFERRABLE INITIALLY DEFERRED",
                    f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "%s"',
                )
            )
        uniques += _uniques(model)
    return [*keys.values(), *uniques, *foreign]


def _uniques(model) -> list[Statement]:
    table = model._meta.db_table
    found = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            continue
        if "commune" in constraint.fields or "commune_id" in constraint.fields:
            continue
        # Rebuilt by the schema editor from the model's constraint (condition included).
        found.append(Statement(constraint.name, table, "rebuild", "restore"))
    return found


def _with_commune(constraint: models.UniqueConstraint) -> models.UniqueConstraint:
    rebuilt = constraint.clone()
    rebuilt.fields = ("commune", *constraint.fields)
    return rebuilt


class EnsureCommuneKeys(migrations.operations.base.Operation):
    """Adds, on PostgreSQL, the composite keys of `statements` that the database lacks."""

    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        apps = to_state.apps
        for statement in statements(apps):
            if _has_commune_first(schema_editor, statement):
                continue
            _run(schema_editor, apps, statement, statement.forward)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        apps = from_state.apps
        for statement in reversed(statements(apps)):
            _run(schema_editor, apps, statement, statement.backward)

    def describe(self):
        return "Composite (commune_id, …) keys between a commune's tables (PostgreSQL)"


def _has_commune_first(schema_editor, statement: Statement) -> bool:
    """Whether the constraint or unique index `statement.name` exists and leads with
    commune_id (so a second run adds nothing, and an original unique is rebuilt once)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE c.relname = %s "
            "UNION ALL SELECT a.attname FROM pg_constraint k "
            "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
            "WHERE k.conname = %s AND k.contype = 'f'",
            [statement.name, statement.name],
        )
        first = [row[0] for row in cursor.fetchall()]
    return "commune_id" in first


def _run(schema_editor, apps, statement: Statement, sql: str) -> None:
    if sql in ("rebuild", "restore"):
        model = next(m for m in apps.get_models() if m._meta.db_table == statement.table)
        original = next(c for c in model._meta.constraints if c.name == statement.name)
        rebuilt = _with_commune(original)
        old, new = (original, rebuilt) if sql == "rebuild" else (rebuilt, original)
        schema_editor.remove_constraint(model, old)
        schema_editor.add_constraint(model, new)
        return
    schema_editor.execute(sql.replace("%s", statement.name))
