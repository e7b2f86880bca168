"""Issue 18 §2: every table of a commune's data carries `commune_id` (the distribution column of a
sharded PostgreSQL). These rows were reached through a parent: the column is added empty, filled
from the parent in one UPDATE (the next migration requires it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0009_api_particulier_config"),
        ("billing", "0007_payment_plans"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="invoicestatuschange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="paymentallocation",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="planinvoice",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="instalment",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AddField(
            model_name="planchange",
            name="commune",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.RunSQL(
            "UPDATE billing_invoiceline SET commune_id = (SELECT p.commune_id FROM billing_invoice p"
            " WHERE p.id = billing_invoiceline.invoice_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE billing_invoicestatuschange SET commune_id = (SELECT p.commune_id FROM billing_invoice p"
            " WHERE p.id = billing_invoicestatuschange.invoice_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE billing_paymentallocation SET commune_id = (SELECT p.commune_id FROM billing_payment p"
            " WHERE p.id = billing_paymentallocation.payment_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE billing_planinvoice SET commune_id = (SELECT p.commune_id FROM billing_paymentplan p"
            " WHERE p.id = billing_planinvoice.plan_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE billing_instalment SET commune_id = (SELECT p.commune_id FROM billing_paymentplan p"
            " WHERE p.id = billing_instalment.plan_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE billing_planchange SET commune_id = (SELECT p.commune_id FROM billing_paymentplan p"
            " WHERE p.id = billing_planchange.plan_id)",
            migrations.RunSQL.noop,
        ),
    ]
