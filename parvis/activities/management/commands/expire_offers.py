"""Expire the waiting list's offers whose time has passed: each seat goes to the next waiting
family (a new offer, by e-mail) or is freed. Run by the scheduler every few minutes, commune by
commune, each in its scope (its queries say commune_id, issue 18 §2)."""

from parvis.activities.services_offres import expire_offers
from parvis.background.periodic import PeriodicCommand
from parvis.communes import periodic, tenancy


class Command(PeriodicCommand):
    help = (
        "Expire les places proposées dont le délai est passé et les propose à la famille "
        "suivante de la liste d'attente."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )

    def run(self, *args, **options) -> str:
        # In a commune's scope the offers' queries (Reservation's manager) say its commune_id.
        done = tenancy.for_each_commune(
            lambda _commune: expire_offers(), periodic.communes_named(options["commune"])
        )
        return f"{sum(count for _commune, count in done)} offre(s) expirée(s)."
