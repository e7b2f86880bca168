"""One closure a day per activity (and one of all the activities): two clicks at once on
« Fermer » could write two. The duplicates already written are merged first: the oldest closure
of each (commune, activity, day) stays, the background jobs of the others are pointed at it, the
others go. Closures are a few rows a commune and year: the unique indexes build at once."""

from django.db import migrations, models
from django.db.models import Count, Min

CLOSING = "activities.fermeture"  # activities.services_fermeture.KIND


def merge_duplicates(apps, schema_editor):
    ActivityClosure = apps.get_model("activities", "ActivityClosure")
    Job = apps.get_model("background", "Job")
    groups = (
        ActivityClosure.objects.values("commune_id", "activity_id", "day")
        .annotate(rows=Count("id"), kept=Min("id"))
        .filter(rows__gt=1)
    )
    for group in groups:
        kept = group["kept"]
        others = list(
            ActivityClosure.objects.filter(
                commune_id=group["commune_id"], activity_id=group["activity_id"], day=group["day"]
            )
            .exclude(pk=kept)
            .values_list("pk", flat=True)
        )
        for job in Job.objects.filter(commune_id=group["commune_id"], kind=CLOSING):
            if job.params.get("closure") in others:
                job.params["closure"] = kept
                job.save(update_fields=["params"])
        ActivityClosure.objects.filter(commune_id=group["commune_id"], pk__in=others).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0007_commune_required"),
        ("background", "0002_job"),
    ]

    operations = [
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="activityclosure",
            constraint=models.UniqueConstraint(
                condition=models.Q(("activity__isnull", False)),
                fields=("commune", "activity", "day"),
                name="closure_once_per_activity_day",
            ),
        ),
        migrations.AddConstraint(
            model_name="activityclosure",
            constraint=models.UniqueConstraint(
                condition=models.Q(("activity__isnull", True)),
                fields=("commune", "day"),
                name="closure_once_per_day_for_all",
            ),
        ),
    ]
