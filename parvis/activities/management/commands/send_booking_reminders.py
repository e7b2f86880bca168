"""E-mail the families whose registered children have nothing booked next week, the day before
its booking deadline (unless they opted out). Run daily by the scheduler; a second run the same
day sends nothing twice."""

from django.core.management.base import CommandError

from parvis.activities.services_rappels import send_booking_reminders
from parvis.background.periodic import PeriodicCommand
from parvis.communes.models import Commune


class Command(PeriodicCommand):
    help = (
        "Envoie le rappel de date limite de réservation aux familles dont la semaine suivante "
        "n'a aucune réservation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--commune", help="identifiant (slug) d'une seule commune")

    def run(self, *args, **options) -> str:
        commune = None
        if options["commune"]:
            commune = Commune.objects.filter(slug=options["commune"]).first()
            if commune is None:
                raise CommandError(f"Commune inconnue : {options['commune']}")
        count = send_booking_reminders(commune=commune)
        return f"{count} rappel(s) envoyé(s)."
