from django.db import migrations, models


def agent_rows_to_their_door(apps, schema_editor):
    # Until now the guichet's attempts were « login » rows whose identifier starts with
    # « agent: »: they move to the guichet's own door, so that its per-address limit counts them.
    Attempt = apps.get_model("accounts", "Attempt")
    Attempt.objects.filter(kind="login", identifier__startswith="agent:").update(kind="agent_login")


def agent_rows_back(apps, schema_editor):
    Attempt = apps.get_model("accounts", "Attempt")
    Attempt.objects.filter(kind="agent_login").update(kind="login")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_attempt_kinds_demarches"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attempt",
            name="kind",
            field=models.CharField(
                choices=[
                    ("login", "connexion"),
                    ("agent_login", "connexion au guichet"),
                    ("service_key", "clé de service"),
                    ("signup", "création d'espace"),
                    ("password_reset", "mot de passe oublié"),
                    ("current_password", "mot de passe actuel (espace personnel)"),
                    ("demande", "démarche sans compte"),
                    ("tracking", "suivi d'une démarche sans compte"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="attempt",
            index=models.Index(
                fields=["commune", "kind", "ip", "-at"], name="attempt_commune_ip_idx"
            ),
        ),
        migrations.RunPython(agent_rows_to_their_door, agent_rows_back),
    ]
