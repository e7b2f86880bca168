"""The accessibility status is no longer chosen: it is computed from the commune's own audit
(date, auditor, rate), else « non conforme ». The old free choice is dropped.

Forward: a commune that recorded an audit date and chose « totalement conforme » keeps its status
(a rate of 100 %, the only rate that choice implies; its auditor is left for the administrator to
give); any other choice carried no rate and the status becomes « non conforme ».
Backward: the old field takes the status computed from the audit, if any, else « non conforme »."""

import django.core.validators
from django.db import migrations, models


def status_to_audit(apps, schema_editor):
    Commune = apps.get_model("communes", "Commune")
    Commune.objects.filter(
        accessibility_status="total", accessibility_audit_date__isnull=False
    ).update(accessibility_audit_rate=100)


def audit_to_status(apps, schema_editor):
    Commune = apps.get_model("communes", "Commune")
    Commune.objects.update(accessibility_status="non")
    audited = Commune.objects.filter(
        accessibility_audit_date__isnull=False, accessibility_audit_rate__isnull=False
    )
    audited.filter(accessibility_audit_rate__gte=50).update(accessibility_status="partiel")
    audited.filter(accessibility_audit_rate__gte=100).update(accessibility_status="total")


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0006_nom_portail_changement_adresse_en_ligne"),
    ]

    operations = [
        migrations.AlterField(
            model_name="commune",
            name="accessibility_audit_date",
            field=models.DateField(
                blank=True,
                help_text="Date de fin de l'audit RGAA du portail, s'il a été audité.",
                null=True,
                verbose_name="date de l'audit d'accessibilité",
            ),
        ),
        migrations.AddField(
            model_name="commune",
            name="accessibility_auditor",
            field=models.CharField(
                blank=True,
                help_text="La personne ou l'organisme indépendant qui a réalisé l'audit.",
                max_length=200,
                verbose_name="auditeur",
            ),
        ),
        migrations.AddField(
            model_name="commune",
            name="accessibility_audit_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="Critères conformes ÷ (conformes + non conformes), en pourcentage : 100 donne « totalement conforme », 50 et plus « partiellement conforme », moins « non conforme ».",
                max_digits=5,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(100),
                ],
                verbose_name="taux de conformité de l'audit (%)",
            ),
        ),
        migrations.AddField(
            model_name="commune",
            name="accessibility_statement_date",
            field=models.DateField(
                blank=True,
                help_text="Laissée vide : la date de l'audit, ou à défaut celle de l'auto-évaluation de Parvis.",
                null=True,
                verbose_name="date de la déclaration d'accessibilité",
            ),
        ),
        migrations.AddField(
            model_name="commune",
            name="accessibility_plan_url",
            field=models.URLField(
                blank=True,
                help_text="Le document publié par la commune, par exemple sur son site internet.",
                verbose_name="adresse du schéma pluriannuel de mise en accessibilité",
            ),
        ),
        migrations.RunPython(status_to_audit, audit_to_status),
        migrations.RemoveField(
            model_name="commune",
            name="accessibility_status",
        ),
    ]
