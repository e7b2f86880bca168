"""The daily step of SEPA direct debit (issue 19 §1): every debit batch transmitted to the bank
whose collection date has come is settled, each invoice paid through billing's single payment
path (« Prélèvement automatique », received on that date). Run by the scheduler every morning,
for every commune (or one, `--commune`), each in its scope (issue 18 §2); running it again
settles nothing twice. A reject that comes later cancels the payment (the régie records it at
the guichet)."""

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.communes import periodic, tenancy
from parvis.payments.services_sepa import settle_due_batches


class Command(PeriodicCommand):
    help = "Règle les lots de prélèvements transmis dont la date de prélèvement est arrivée."

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )
        parser.add_argument("--date", help="jour AAAA-MM-JJ (par défaut : aujourd'hui)")

    def run(self, *args, **options) -> str:
        today = timezone.localdate()
        if options["date"]:
            try:
                today = date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError("Date attendue : AAAA-MM-JJ.") from error

        def settle(commune) -> list[str]:
            # Said in the commune's scope: the batch's régie is read there.
            return [
                f"{commune.slug} {batch.regie.code} lot du {batch.collection_date:%d/%m/%Y} : "
                f"{count} prélèvement(s) réglé(s)."
                for batch, count in settle_due_batches(today=today, commune=commune)
            ]

        done = tenancy.for_each_commune(settle, periodic.communes_named(options["commune"]))
        lines = [line for _commune, settled in done for line in settled]
        if not lines:
            return f"{today:%d/%m/%Y} : aucun lot de prélèvements à régler."
        return "\n".join(lines)
