"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("demarches", "0003_initial_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="demandeevent",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="demandemessage",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="demandeattachment",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE demarches_demandeevent SET commune_id = (SELECT p.commune_id FROM demarches_demande p"
            " WHERE p.id = demarches_demandeevent.demande_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE demarches_demandemessage SET commune_id = (SELECT p.commune_id FROM demarches_demande p"
            " WHERE p.id = demarches_demandemessage.demande_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE demarches_demandeattachment SET commune_id = (SELECT p.commune_id FROM demarches_demande p"
            " WHERE p.id = demarches_demandeattachment.demande_id)",
            migrations.RunSQL.noop,
        ),
    ]
