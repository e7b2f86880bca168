"""The daily round of the payment plans en cours (issue 19 §3): an instalment whose date has
passed unpaid is marked « en retard » (the régie's « Échéanciers » list flags it) and the family
is e-mailed once; an instalment due within three days is announced once. For every commune, or
one (`--commune`), each in its scope (issue 18 §2); running it again sends nothing twice."""

from dataclasses import fields

from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.billing.services_plans import InstalmentReminders, remind_instalments
from parvis.communes import periodic, tenancy


class Command(PeriodicCommand):
    help = (
        "Échéanciers de paiement : signale à la régie les échéances non réglées à leur date et "
        "envoie aux familles les rappels (avant l'échéance) et relances (après)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )

    def run(self, *args, **options) -> str:
        today = timezone.localdate()
        result = InstalmentReminders()
        for _commune, one in tenancy.for_each_commune(
            lambda commune: remind_instalments(today=today, commune=commune),
            periodic.communes_named(options["commune"]),
        ):
            for field in fields(result):
                setattr(result, field.name, getattr(result, field.name) + getattr(one, field.name))
        return (
            f"{result.late} échéance(s) passée(s) en retard ; {result.reminded_late} relance(s) "
            f"et {result.reminded_soon} rappel(s) envoyé(s) ; {result.by_post} famille(s) sans "
            "adresse électronique."
        )
