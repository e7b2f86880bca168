"""Issue 23: on PostgreSQL, Django's single-column foreign keys between commune tables dropped
where their composite (commune_id, x_id) twin, validated, already refuses the same rows
(parvis.communes.distribution.DropTwinnedForeignKeys): each was one more trigger per inserted
row, checked at the commit. The models keep them; SQLite keeps them. A catalogue change per
constraint, nothing scanned; reversed, they are added back NOT VALID and then validated."""

from django.db import migrations

from parvis.communes.distribution import DropTwinnedForeignKeys


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0012_journal_commune_required"),
        ("rgpd", "0006_commune_keys_unique_columns"),
    ]

    operations = [DropTwinnedForeignKeys()]
