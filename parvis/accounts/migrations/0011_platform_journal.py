"""Issue 18 §2: the communes' journal (accounts_auditentry) gets a required commune, so that it
can be distributed by commune_id (Citus refuses a row without its distribution column); the rows
that concern no commune (the operator's own account, a few a year) move to the platform's
journal (accounts_platformauditentry, kept on the coordinator). README « Towards a distributed
PostgreSQL (Citus) ».

On a big journal (tens of millions of rows), nothing rewrites the table and no lock blocks the
communes' writes during a scan: outside a transaction, the platform's rows are moved (an index
scan of commune_id IS NULL), then on PostgreSQL a CHECK (commune_id IS NOT NULL) is added NOT
VALID (instant), validated (a scan that lets reads and writes go on), and SET NOT NULL uses it
instead of scanning again (PostgreSQL 12+) before it is dropped. SQLite rebuilds the table, as
Django does for any change of a column there."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models, transaction


def move_platform_rows(apps, schema_editor):
    # In SQL: the rows keep their dates (a model's auto_now_add would set them to now).
    with transaction.atomic(using=schema_editor.connection.alias):
        schema_editor.execute(
            "INSERT INTO accounts_platformauditentry (actor_id, actor_label, action, target_type, "
            "target_id, target_label, changes, at) SELECT actor_id, actor_label, action, "
            "target_type, target_id, target_label, changes, at FROM accounts_auditentry "
            "WHERE commune_id IS NULL ORDER BY id"
        )
        schema_editor.execute("DELETE FROM accounts_auditentry WHERE commune_id IS NULL")


def move_back(apps, schema_editor):
    with transaction.atomic(using=schema_editor.connection.alias):
        schema_editor.execute(
            "INSERT INTO accounts_auditentry (actor_id, actor_label, action, target_type, "
            "target_id, target_label, changes, at) SELECT actor_id, actor_label, action, "
            "target_type, target_id, target_label, changes, at FROM accounts_platformauditentry "
            "ORDER BY id"
        )


class RequireWithoutScan(migrations.AlterField):
    """AlterField to NOT NULL; on PostgreSQL through a validated CHECK, so that no lock that
    blocks writes is held during the table's scan."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        column = model._meta.get_field(self.name).column
        check = f"{table}_{column}_not_null"
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{check}"')
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{check}" CHECK ("{column}" IS NOT NULL) '
            "NOT VALID"
        )
        schema_editor.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{check}"')
        schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET NOT NULL')
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{check}"')

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Back to nullable: AlterField's own (AlterField.database_backwards would call ours).
        migrations.AlterField.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0010_agent_role_concepteur"),
        ("communes", "0009_api_particulier_config"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlatformAuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("action", models.CharField(max_length=80)),
                ("target_type", models.CharField(blank=True, max_length=80)),
                ("target_id", models.CharField(blank=True, max_length=40)),
                ("target_label", models.CharField(blank=True, max_length=200)),
                ("changes", models.JSONField(blank=True, default=dict)),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "actor",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "entrée du journal de la plateforme",
                "verbose_name_plural": "journal de la plateforme",
                "ordering": ["-at", "-id"],
            },
        ),
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
