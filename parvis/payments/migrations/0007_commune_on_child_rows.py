"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("payments", "0006_sepa_direct_debit"),
    ]

    operations = [
        migrations.AddField(
            model_name="transactioninvoice",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="troppercuchange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="mandatechange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="batchchange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE payments_transactioninvoice SET commune_id = (SELECT p.commune_id FROM payments_transaction p"
            " WHERE p.id = payments_transactioninvoice.transaction_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE payments_troppercuchange SET commune_id = (SELECT p.commune_id FROM payments_troppercu p"
            " WHERE p.id = payments_troppercuchange.trop_percu_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE payments_mandatechange SET commune_id = (SELECT p.commune_id FROM payments_mandate p"
            " WHERE p.id = payments_mandatechange.mandate_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE payments_batchchange SET commune_id = (SELECT p.commune_id FROM payments_debitbatch p"
            " WHERE p.id = payments_batchchange.batch_id)",
            migrations.RunSQL.noop,
        ),
    ]
