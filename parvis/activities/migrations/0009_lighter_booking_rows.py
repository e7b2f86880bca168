"""Issue 23: « Valider » writes a hundred bookings and as many history rows, and on PostgreSQL
each row's foreign keys were a trigger each, checked at the commit: half of the database's work.

- BookingEvent (the history, append-only, written only by reservations.move from the values of
  the bookings it records) keeps no database key, on PostgreSQL and SQLite: `db_constraint=False`
  on its five foreign keys, and its composite (commune_id, x_id) keys dropped
  (DropUncheckedCommuneKeys). Django's deletion collector still deletes its rows with their
  parent and clears the actor.
- Reservation keeps its three composite keys (child, family, unit); on PostgreSQL it loses its
  own key to the commune and its index on commune_id (DropCoveredCommuneKey): (commune_id,
  child_id) already refuses a commune that does not exist, and the unique index begins with
  commune_id (SQLite keeps Django's: its unique index begins with the child). Its indexes on
  the family and the unit go on both: reservation_family_idx and reservation_seat_idx begin
  with them (the child's stays, for deletions by child).

Forwards, catalogue changes only (on SQLite, Django copies the two tables). Reversed, a rollback
path for a quiet moment: the keys are validated and the indexes built inside the migration's
transaction, which blocks writes to the bookings and their history until it commits; the
composite keys come back, Django's single-column keys too, and those a composite one covers
are dropped again (as rgpd 0007 left them)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from parvis.communes.distribution import (
    DropCoveredCommuneKey,
    DropTwinnedForeignKeys,
    DropUncheckedCommuneKeys,
)


class TwinnedDroppedWhenReversed(DropTwinnedForeignKeys):
    """Nothing forwards; reversed last, it drops the single-column keys the reversed
    AlterFields give back where a composite key covers them (DropTwinnedForeignKeys)."""

    def forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def backwards(self, app_label, schema_editor, from_state, to_state):
        DropTwinnedForeignKeys.forwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0008_closure_once"),
        ("communes", "0009_api_particulier_config"),
        ("families", "0011_commune_required"),
        ("rgpd", "0007_twinned_foreign_keys_dropped"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TwinnedDroppedWhenReversed(),
        migrations.AlterField(
            model_name="bookingevent",
            name="actor",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="bookingevent",
            name="child",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="families.personne",
            ),
        ),
        migrations.AlterField(
            model_name="bookingevent",
            name="commune",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="communes.commune",
                verbose_name="commune",
            ),
        ),
        migrations.AlterField(
            model_name="bookingevent",
            name="famille",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="families.famille",
            ),
        ),
        migrations.AlterField(
            model_name="bookingevent",
            name="unit",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="activities.unit",
            ),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="famille",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="reservations",
                to="families.famille",
            ),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reservations",
                to="activities.unit",
            ),
        ),
        DropUncheckedCommuneKeys(model_name="bookingevent"),
        DropCoveredCommuneKey(model_name="reservation"),
    ]
