"""An invoice is in at most one pending online transaction (after 0003 made it so)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_pending_shares")]

    operations = [
        migrations.AddConstraint(
            model_name="transactioninvoice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("pending", True)),
                fields=("invoice",),
                name="share_one_pending_per_invoice",
            ),
        ),
    ]
