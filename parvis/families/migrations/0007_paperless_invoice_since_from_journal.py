"""« Facture en ligne depuis le … » on « Mon compte » for the families whose choice changed before
`Famille.paperless_invoice_since` existed: the day of the last change the audit log recorded
(without it the page dated the choice from the file's creation, months before the family joined)."""

from django.db import migrations
from django.utils import timezone


def date_choices_from_journal(apps, schema_editor):
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    Famille = apps.get_model("families", "Famille")
    last_change = {}
    entries = AuditEntry.objects.filter(
        action="famille.update", target_type="famille", changes__has_key="paperless_invoice"
    ).order_by("at", "pk")
    for famille_id, at in entries.values_list("famille_id", "at"):
        last_change[famille_id] = timezone.localdate(at)  # the latest wins
    dated = []
    for famille in Famille.objects.filter(paperless_invoice_since=None).only("pk").iterator():
        if famille.pk in last_change:
            famille.paperless_invoice_since = last_change[famille.pk]
            dated.append(famille)
    Famille.objects.bulk_update(dated, ["paperless_invoice_since"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_citizens_agents_audit"),
        ("families", "0006_service_key_dates"),
    ]

    operations = [migrations.RunPython(date_choices_from_journal, migrations.RunPython.noop)]
