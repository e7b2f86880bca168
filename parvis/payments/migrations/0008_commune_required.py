"""Issue 18 §2: `commune_id`, filled by the previous migration, is required (a migration of its
own: on PostgreSQL the UPDATE's deferred foreign-key checks forbid an ALTER TABLE in the same
transaction)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_commune_on_child_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="transactioninvoice",
            name="commune",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AlterField(
            model_name="troppercuchange",
            name="commune",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AlterField(
            model_name="mandatechange",
            name="commune",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AlterField(
            model_name="batchchange",
            name="commune",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
    ]
