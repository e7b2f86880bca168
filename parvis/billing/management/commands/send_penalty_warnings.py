"""E-mail the families whose month so far holds a penalty (presence without booking, unjustified
absence, late pick-up, late booking) before the monthly run, with a link to contest it. Run by the
scheduler a few days before the 1st (e.g. on the 26th) for the current month, for every commune
(or one, `--commune`), each in its scope; a second run sends nothing twice."""

from django.core.management.base import CommandError
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.billing.management.commands.run_invoicing import for_each_regie, parse_month
from parvis.billing.services_warnings import send_penalty_warnings


class Command(PeriodicCommand):
    help = (
        "Avertit par courriel les familles des pénalités que la prochaine facture comptera "
        "(avec un lien pour les contester)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )
        parser.add_argument("--regie", help="code d'une seule régie (par défaut : toutes)")
        parser.add_argument("--month", help="mois AAAA-MM (par défaut : le mois en cours)")

    def run(self, *args, **options) -> str:
        today = timezone.localdate()
        month = parse_month(options["month"]) if options["month"] else today.replace(day=1)
        if month > today:
            raise CommandError("Ce mois n'a pas encore commencé.")

        def warn(regie) -> str:
            sent = send_penalty_warnings(regie=regie, month=month, today=today)
            return f"{regie.code} {month:%Y-%m} : {sent} avertissement(s) envoyé(s)."

        return "\n".join(for_each_regie(warn, slug=options["commune"], code=options["regie"]))
