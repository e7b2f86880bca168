"""The daily retention job: each commune's durations applied (deletions, warnings of inactive
accounts), or only counted (a dry run's report) until its administrator turns them on at the
guichet; then the expired data exports are deleted. Run daily by the scheduler."""

from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.communes.models import Commune
from parvis.rgpd import services


class Command(PeriodicCommand):
    help = (
        "Applique les durées de conservation des données personnelles de chaque commune "
        "(simulation tant que son administrateur ne l'a pas activée) et efface les exports "
        "expirés."
    )

    def add_arguments(self, parser):
        parser.add_argument("--commune", help="Le slug d'une seule commune.")

    def run(self, *args, **options) -> str:
        communes = Commune.objects.order_by("slug")
        if options.get("commune"):
            communes = communes.filter(slug=options["commune"])
        return "\n".join(services.daily(communes=communes, now=timezone.now()))
