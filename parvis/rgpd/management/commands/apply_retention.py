"""The daily retention job: each commune's durations applied (deletions, warnings of inactive
accounts), or only counted (a dry run's report) until its administrator turns them on at the
guichet; then the expired data exports are deleted; commune by commune, each in its scope
(issue 18 §2). Then the platform's own rule: the administration's login attempts, which belong
to no commune, go after PARVIS_ADMIN_ATTEMPTS_DAYS days. Run daily by the scheduler."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.background.periodic import PeriodicCommand
from parvis.communes import periodic
from parvis.rgpd import services


def purge_admin_attempts(now: datetime) -> int:
    """The administration's (/admin/) login attempts older than the platform's duration (the
    same boundary as the communes' rules: strictly older than « now − duration »)."""
    cutoff = now - timedelta(days=settings.PARVIS_ADMIN_ATTEMPTS_DAYS)
    deleted, _detail = Attempt.objects.filter(commune__isnull=True, at__lt=cutoff).delete()
    return deleted


class Command(PeriodicCommand):
    help = (
        "Applique les durées de conservation des données personnelles de chaque commune "
        "(simulation tant que son administrateur ne l'a pas activée) et efface les exports "
        "expirés."
    )

    def add_arguments(self, parser):
        parser.add_argument("--commune", help="Le slug d'une seule commune.")

    def run(self, *args, **options) -> str:
        now = timezone.now()
        lines = services.daily(communes=periodic.communes_named(options.get("commune")), now=now)
        if not options.get("commune"):
            lines.append(
                f"{purge_admin_attempts(now)} tentative(s) de connexion à l'administration "
                "supprimée(s)."
            )
        return "\n".join(lines)
