"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("rgpd", "0002_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportstatuschange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE rgpd_exportstatuschange SET commune_id = (SELECT p.commune_id FROM rgpd_dataexport p"
            " WHERE p.id = rgpd_exportstatuschange.export_id)",
            migrations.RunSQL.noop,
        ),
    ]
