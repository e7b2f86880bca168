"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("activities", "0005_custody_activity"),
    ]

    operations = [
        migrations.AddField(
            model_name="unitday",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="bookingevent",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="remindersent",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE activities_unitday SET commune_id = (SELECT p.commune_id FROM activities_unit p"
            " WHERE p.id = activities_unitday.unit_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE activities_bookingevent SET commune_id = (SELECT p.commune_id FROM families_famille p"
            " WHERE p.id = activities_bookingevent.famille_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE activities_remindersent SET commune_id = (SELECT p.commune_id FROM activities_activity p"
            " WHERE p.id = activities_remindersent.activity_id)",
            migrations.RunSQL.noop,
        ),
    ]
