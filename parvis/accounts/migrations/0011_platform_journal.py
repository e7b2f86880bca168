"""Issue 18 §2: the platform's journal (accounts_platformauditentry, kept on the coordinator),
where the rows of the communes' journal that concern no commune go (migration 0012). Its own
migration, atomic: if 0012 stops halfway (non-atomic), running `migrate` again starts there."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
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
    ]
