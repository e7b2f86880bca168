"""The monthly invoicing run of every commune's régies (or of one, `--commune`), for the
scheduler (on the 1st, for the previous month) or by hand: `--preview` prints what would be
billed and writes nothing. Running it again, or after a crash, bills only the families still
without an invoice. A régie that cannot be billed (a missing tariff) does not stop the others:
the command fails at the end, naming it."""

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
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


def regies_of(slug: str | None, code: str | None) -> list[Regie]:
    """The régies of the commune `slug` (without it: of every commune), or the one coded
    `code` there."""
    regies = Regie.objects.select_related("commune").order_by("commune__slug", "code")
    where = "toutes les communes"
    if slug:
        commune = Commune.objects.filter(slug=slug).first()
        if commune is None:
            raise CommandError(f"Commune inconnue : {slug}")
        regies, where = regies.filter(commune=commune), commune.name
    if code:
        regies = regies.filter(code=code)
        if not regies:
            raise CommandError(f"Régie inconnue dans {where} : {code}")
    return list(regies)


class Command(PeriodicCommand):
    help = "Facturation mensuelle des communes, ou d'une seule (par défaut : le mois précédent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )
        parser.add_argument("--regie", help="code d'une seule régie (par défaut : toutes)")
        parser.add_argument("--month", help="mois AAAA-MM (par défaut : le mois précédent)")
        parser.add_argument(
            "--preview", action="store_true", help="affiche l'aperçu sans émettre les factures"
        )

    def run(self, *args, **options) -> str:
        today = timezone.localdate()
        month = (
            parse_month(options["month"]) if options["month"] else invoicing.previous_month(today)
        )
        if invoicing.month_bounds(month)[1] >= today:
            raise CommandError("Ce mois n'est pas terminé : on ne facture qu'un mois passé.")
        lines, errors = [], []
        for regie in regies_of(options["commune"], options["regie"]):
            try:
                if options["preview"]:
                    lines.append(self._preview(regie, month))
                else:
                    run = issue_run(regie=regie, month=month, actor=None)
                    lines.append(
                        f"{regie.code} {month:%Y-%m} : {run.invoice_count} facture(s), "
                        f"{money(run.total)}."
                    )
            except invoicing.MissingTariff as error:
                errors.append(f"{regie.commune.slug} {regie.code} : {error}")
        if errors:
            # What was billed is said too: the run's record keeps it with the error.
            raise CommandError("\n".join([*lines, *errors]))
        return "\n".join(lines)

    def _preview(self, regie: Regie, month: date) -> str:
        bills = invoicing.compute_month(
            regie=regie, month=month, famille_ids=families_left(regie=regie, month=month)
        )
        total = sum((bill.total for bill in bills), invoicing.ZERO)
        return (
            f"{regie.code} {month:%Y-%m} (aperçu) : {len(bills)} facture(s) à émettre, "
            f"{money(total)}."
        )
