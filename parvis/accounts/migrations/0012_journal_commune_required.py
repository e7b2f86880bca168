"""Issue 18 §2: the communes' journal (accounts_auditentry) gets a required commune, so that it
can be distributed by commune_id (Citus refuses a row without its distribution column); the rows
that concern no commune (the operator's own account, a few a year) move to the platform's
journal (0011). README « Towards a distributed PostgreSQL (Citus) ».

On a big journal (tens of millions of rows), nothing rewrites the table and no lock blocks the
communes' writes during a scan, and no row without a commune slips in while it runs (old code
still serving during a deploy): outside a transaction, on PostgreSQL a CHECK (commune_id IS NOT
NULL) is added NOT VALID first (instant; from then on such a row is refused), then the
platform's rows are moved in one statement (DELETE … RETURNING into the platform's journal),
the CHECK validated (a scan that lets reads and writes go on) and SET NOT NULL uses it instead
of scanning again (PostgreSQL 12+) before it is dropped. Each step can run again: a `migrate`
stopped halfway is finished by the next. SQLite moves the rows in one transaction and rebuilds
the table, as Django does for any change of a column there."""

import django.db.models.deletion
from django.db import migrations, models, transaction

COLUMNS = "actor_id, actor_label, action, target_type, target_id, target_label, changes, at"
CHECK = "accounts_auditentry_commune_id_not_null"


def _has_check(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [CHECK])
        return cursor.fetchone() is not None


def refuse_new_rows_without_commune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and not _has_check(schema_editor):
        schema_editor.execute(
            f'ALTER TABLE accounts_auditentry ADD CONSTRAINT "{CHECK}" '
            "CHECK (commune_id IS NOT NULL) NOT VALID"
        )


def accept_rows_without_commune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE accounts_auditentry DROP CONSTRAINT IF EXISTS "{CHECK}"'
        )


def move_platform_rows(apps, schema_editor):
    # In SQL: the rows keep their dates (a model's auto_now_add would set them to now).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "WITH moved AS (DELETE FROM accounts_auditentry WHERE commune_id IS NULL "
            f"RETURNING id, {COLUMNS}) INSERT INTO accounts_platformauditentry ({COLUMNS}) "
            f"SELECT {COLUMNS} FROM moved ORDER BY id"
        )
        return
    with transaction.atomic(using=schema_editor.connection.alias):
        schema_editor.execute(
            f"INSERT INTO accounts_platformauditentry ({COLUMNS}) SELECT {COLUMNS} "
            "FROM accounts_auditentry WHERE commune_id IS NULL ORDER BY id"
        )
        schema_editor.execute("DELETE FROM accounts_auditentry WHERE commune_id IS NULL")


def move_back(apps, schema_editor):
    with transaction.atomic(using=schema_editor.connection.alias):
        schema_editor.execute(
            f"INSERT INTO accounts_auditentry ({COLUMNS}) SELECT {COLUMNS} "
            "FROM accounts_platformauditentry ORDER BY id"
        )
        schema_editor.execute("DELETE FROM accounts_platformauditentry")


class RequireWithoutScan(migrations.AlterField):
    """AlterField to NOT NULL; on PostgreSQL through the validated CHECK, so that no lock that
    blocks writes is held during the table's scan."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        refuse_new_rows_without_commune(None, schema_editor)
        schema_editor.execute(f'ALTER TABLE accounts_auditentry VALIDATE CONSTRAINT "{CHECK}"')
        schema_editor.execute(
            "ALTER TABLE accounts_auditentry ALTER COLUMN commune_id SET NOT NULL"
        )
        schema_editor.execute(f'ALTER TABLE accounts_auditentry DROP CONSTRAINT "{CHECK}"')

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Back to nullable: AlterField's own (AlterField.database_backwards would call ours).
        migrations.AlterField.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("accounts", "0011_platform_journal")]

    operations = [
        migrations.RunPython(refuse_new_rows_without_commune, accept_rows_without_commune),
        migrations.RunPython(move_platform_rows, move_back),
        RequireWithoutScan(
            model_name="auditentry",
            name="commune",
            field=models.ForeignKey(
                default=None,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
            ),
            preserve_default=False,
        ),
    ]
