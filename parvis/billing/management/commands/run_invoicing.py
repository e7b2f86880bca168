"""The monthly invoicing run of a commune's régies, for the scheduler (on the 1st, for the
previous month) or by hand: `--preview` prints what would be billed and writes nothing. Running
it again, or after a crash, bills only the families still without an invoice."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from parvis.billing import invoicing
from parvis.billing.models import Regie
from parvis.billing.pricing import money
from parvis.billing.services_runs import families_left, issue_run
from parvis.communes.models import Commune


def parse_month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as error:
        raise CommandError(
            f"Mois invalide : {value!r} (attendu AAAA-MM, par exemple 2026-11)."
        ) from error


def commune_and_regies(slug: str, code: str | None) -> tuple[Commune, list[Regie]]:
    commune = Commune.objects.filter(slug=slug).first()
    if commune is None:
        raise CommandError(f"Commune inconnue : {slug}")
    regies = Regie.objects.filter(commune=commune).select_related("commune")
    if code:
        regies = regies.filter(code=code)
        if not regies:
            raise CommandError(f"Régie inconnue dans {commune.name} : {code}")
    return commune, list(regies)


class Command(BaseCommand):
    help = "Facturation mensuelle d'une commune (par défaut : le mois précédent)."

    def add_arguments(self, parser):
        parser.add_argument("--commune", required=True, help="identifiant (slug) de la commune")
        parser.add_argument("--regie", help="code d'une seule régie (par défaut : toutes)")
        parser.add_argument("--month", help="mois AAAA-MM (par défaut : le mois précédent)")
        parser.add_argument(
            "--preview", action="store_true", help="affiche l'aperçu sans émettre les factures"
        )

    def handle(self, *args, **options):
        today = timezone.localdate()
        month = (
            parse_month(options["month"]) if options["month"] else invoicing.previous_month(today)
        )
        if invoicing.month_bounds(month)[1] >= today:
            raise CommandError("Ce mois n'est pas terminé : on ne facture qu'un mois passé.")
        _commune, regies = commune_and_regies(options["commune"], options["regie"])
        for regie in regies:
            try:
                if options["preview"]:
                    self._preview(regie, month)
                else:
                    run = issue_run(regie=regie, month=month, actor=None)
                    self.stdout.write(
                        f"{regie.code} {month:%Y-%m} : {run.invoice_count} facture(s), "
                        f"{money(run.total)}."
                    )
            except invoicing.MissingTariff as error:
                raise CommandError(str(error)) from error

    def _preview(self, regie: Regie, month: date) -> None:
        bills = invoicing.compute_month(
            regie=regie, month=month, famille_ids=families_left(regie=regie, month=month)
        )
        total = sum((bill.total for bill in bills), invoicing.ZERO)
        self.stdout.write(
            f"{regie.code} {month:%Y-%m} (aperçu) : {len(bills)} facture(s) à émettre, "
            f"{money(total)}."
        )
