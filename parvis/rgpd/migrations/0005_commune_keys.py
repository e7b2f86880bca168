"""Issue 18 §2: on PostgreSQL, the composite (commune_id, …) keys between a commune's tables and
its unique constraints led by commune_id (parvis.communes.distribution). Placed in the app that
comes last in the chain of the domain apps: it reads the tables of all of them. A later migration
adding a table or a foreign key between commune tables runs EnsureCommuneKeys again."""

from django.db import migrations

from parvis.communes.distribution import EnsureCommuneKeys


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_agent_role_concepteur"),
        ("activities", "0007_commune_required"),
        ("background", "0002_job"),
        ("billing", "0009_commune_required"),
        ("communes", "0009_api_particulier_config"),
        ("demarches", "0005_commune_required"),
        ("families", "0011_commune_required"),
        ("payments", "0008_commune_required"),
        ("rgpd", "0004_commune_required"),
    ]

    # Outside a transaction: its indexes are built CONCURRENTLY, its foreign keys validated
    # after they are added (parvis.communes.distribution).
    atomic = False

    operations = [EnsureCommuneKeys(first=True)]
