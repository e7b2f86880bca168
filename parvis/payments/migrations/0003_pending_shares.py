"""The shares of the transactions already « en attente » are pending, the others not. An invoice
in several pending transactions (« Payer » pressed twice before the rule) stays in the newest;
the older ones are replaced by it, as a second « Payer » now does."""

from django.db import migrations


def forwards(apps, schema_editor):
    Transaction = apps.get_model("payments", "Transaction")
    Share = apps.get_model("payments", "TransactionInvoice")
    Share.objects.exclude(transaction__status="en_attente").update(pending=False)
    newest = {}
    shares = Share.objects.filter(pending=True).select_related("transaction")
    for share in shares.order_by("-transaction__created_at", "-transaction_id"):
        kept = newest.setdefault(share.invoice_id, share.transaction)
        if kept.pk != share.transaction_id:
            Transaction.objects.filter(pk=share.transaction_id, status="en_attente").update(
                status="remplacee", replaced_by=kept
            )
    Share.objects.filter(pending=True).exclude(transaction__status="en_attente").update(
        pending=False
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_trop_percus_one_pending_transaction")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
