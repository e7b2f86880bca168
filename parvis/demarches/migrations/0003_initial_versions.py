"""Every procedure already there becomes its version 1, and its requests keep it (issue 21)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Procedure = apps.get_model("demarches", "Procedure")
    ProcedureVersion = apps.get_model("demarches", "ProcedureVersion")
    Demande = apps.get_model("demarches", "Demande")
    for procedure in Procedure.objects.filter(current_version=None).iterator():
        version = ProcedureVersion.objects.create(
            commune_id=procedure.commune_id,
            procedure=procedure,
            number=1,
            definition=procedure.definition,
            note="Version initiale",
        )
        procedure.current_version = version
        procedure.save(update_fields=["current_version"])
        Demande.objects.filter(procedure=procedure, version=None).update(version=version)


class Migration(migrations.Migration):
    dependencies = [("demarches", "0002_builder_versions")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
