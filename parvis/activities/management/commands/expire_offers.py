"""Expire the waiting list's offers whose time has passed: each seat goes to the next waiting
family (a new offer, by e-mail) or is freed. Run by the scheduler every few minutes."""

from django.core.management.base import BaseCommand

from parvis.activities.services_offres import expire_offers


class Command(BaseCommand):
    help = (
        "Expire les places proposées dont le délai est passé et les propose à la famille "
        "suivante de la liste d'attente."
    )

    def handle(self, *args, **options):
        count = expire_offers()
        self.stdout.write(f"{count} offre(s) expirée(s).")
