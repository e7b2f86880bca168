"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("families", "0009_shared_custody"),
    ]

    operations = [
        migrations.AddField(
            model_name="documentevent",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE families_documentevent SET commune_id = (SELECT p.commune_id FROM families_document p"
            " WHERE p.id = families_documentevent.document_id)",
            migrations.RunSQL.noop,
        ),
    ]
