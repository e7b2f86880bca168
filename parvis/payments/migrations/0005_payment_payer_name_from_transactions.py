"""The online payments recorded before `Payment.payer_name` existed are named on their receipt by
the account that paid, as the receipt did until then (read from the transaction)."""

from django.db import migrations

CIVILITIES = {"mme": "Madame", "m": "Monsieur"}  # accounts.Civility, as the receipts wrote it


def name_online_payers(apps, schema_editor):
    Payment = apps.get_model("billing", "Payment")
    Transaction = apps.get_model("payments", "Transaction")
    users = {
        (commune_id, reference): (civility, first_name, last_name)
        for commune_id, reference, civility, first_name, last_name in Transaction.objects.filter(
            user__isnull=False
        ).values_list(
            "commune_id", "reference", "user__civility", "user__first_name", "user__last_name"
        )
    }
    named = []
    for payment in Payment.objects.filter(payer_name="").exclude(transaction_reference=""):
        user = users.get((payment.commune_id, payment.transaction_reference))
        if user is None:
            continue
        civility, first_name, last_name = user
        parts = (CIVILITIES.get(civility, ""), first_name or "", (last_name or "").upper())
        payment.payer_name = " ".join(part for part in parts if part)[:200]
        named.append(payment)
    Payment.objects.bulk_update(named, ["payer_name"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_payment_payer_name"),
        ("payments", "0004_share_one_pending_per_invoice"),
    ]

    operations = [migrations.RunPython(name_online_payers, migrations.RunPython.noop)]
