"""E-mail the families whose registered children have nothing booked next week, the day before
its booking deadline (unless they opted out). Run daily by the scheduler, commune by commune
(the online ones), each in its scope (issue 18 §2); a second run the same day sends nothing
twice."""

from parvis.activities.services_rappels import send_booking_reminders
from parvis.background.periodic import PeriodicCommand
from parvis.communes import periodic, tenancy


class Command(PeriodicCommand):
    help = (
        "Envoie le rappel de date limite de réservation aux familles dont la semaine suivante "
        "n'a aucune réservation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--commune", help="identifiant (slug) d'une seule commune")

    def run(self, *args, **options) -> str:
        communes = periodic.communes_named(options["commune"], active_only=True)
        done = tenancy.for_each_commune(
            lambda commune: send_booking_reminders(commune=commune), communes
        )
        return f"{sum(count for _commune, count in done)} rappel(s) envoyé(s)."
