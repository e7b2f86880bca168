"""Expire the waiting list's offers whose time has passed: each seat goes to the next waiting
family (a new offer, by e-mail) or is freed. Run by the scheduler every few minutes."""

from parvis.activities.services_offres import expire_offers
from parvis.background.periodic import PeriodicCommand


class Command(PeriodicCommand):
    help = (
        "Expire les places proposées dont le délai est passé et les propose à la famille "
        "suivante de la liste d'attente."
    )

    def run(self, *args, **options) -> str:
        count = expire_offers()
        return f"{count} offre(s) expirée(s)."
