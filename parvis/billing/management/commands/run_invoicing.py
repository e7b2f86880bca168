"""The monthly invoicing run of every commune's régies (or of one, `--commune`), commune by
commune in its scope (issue 18 §2), for the scheduler (on the 1st, for the previous month) or by
hand: `--preview` prints what would be billed and writes nothing. Running it again, or after a
crash, bills only the families still without an invoice. A régie that cannot be billed (a
missing tariff) does not stop the others: the command fails at the end, naming it."""

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.billing import invoicing
from parvis.billing.models import Regie
from parvis.billing.pricing import money
from parvis.billing.services_runs import families_left, issue_run
from parvis.communes import periodic, tenancy
from parvis.communes.models import Commune


def parse_month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as error:
        raise CommandError(
            f"Mois invalide : {value!r} (attendu AAAA-MM, par exemple 2026-11)."
        ) from error


def regies_of(commune: Commune, code: str | None) -> list[Regie]:
    """The régies of `commune` (in its scope), or the one coded `code` there."""
    regies = Regie.objects.filter(commune=commune).order_by("code")
    if code:
        regies = regies.filter(code=code)
    return list(regies)


def for_each_regie(work, *, slug: str | None, code: str | None) -> list:
    """`work(regie)` for the régies of the commune `slug` (without it: of every commune, by
    slug), or the one coded `code`, commune by commune in its scope (issue 18 §2: each query
    says its commune_id). Returns the results in order; a CommandError when `code` names no
    régie."""
    done = tenancy.for_each_commune(
        lambda commune: [work(regie) for regie in regies_of(commune, code)],
        periodic.communes_named(slug),
    )
    if code and not any(results for _commune, results in done):
        where = done[0][0].name if slug else "toutes les communes"
        raise CommandError(f"Régie inconnue dans {where} : {code}")
    return [result for _commune, results in done for result in results]


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
        errors = []

        def bill(regie: Regie) -> str | None:
            try:
                if options["preview"]:
                    return self._preview(regie, month)
                run = issue_run(regie=regie, month=month, actor=None)
                return (
                    f"{regie.code} {month:%Y-%m} : {run.invoice_count} facture(s), "
                    f"{money(run.total)}."
                )
            except invoicing.MissingTariff as error:
                errors.append(f"{regie.commune.slug} {regie.code} : {error}")
                return None

        lines = [
            line
            for line in for_each_regie(bill, slug=options["commune"], code=options["regie"])
            if line is not None
        ]
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
