"""Delete the throttling log rows (Attempt) past their use: they hold e-mail addresses and IP
addresses, kept no longer than needed (RGPD). Run daily by the scheduler."""

from datetime import timedelta

from django.utils import timezone

from parvis.accounts.models import Attempt
from parvis.background.periodic import PeriodicCommand

DEFAULT_RETENTION_DAYS = 30


class Command(PeriodicCommand):
    help = "Supprime les tentatives (connexions, clés, inscriptions) plus anciennes que N jours."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=DEFAULT_RETENTION_DAYS)

    def run(self, *args, days, **options) -> str:
        # Never shorter than the longest window a rule looks back over (one hour). The login
        # rules also look back to an identifier's last success, its usual address: a success
        # purged with the rest only makes that address an ordinary one (slowed down if attacked).
        # The administration's attempts (no commune) keep the platform's own retention,
        # PARVIS_ADMIN_ATTEMPTS_DAYS, which apply_retention applies: not cut short here.
        cutoff = timezone.now() - timedelta(days=max(days, 1))
        deleted, _detail = Attempt.objects.filter(at__lt=cutoff, commune__isnull=False).delete()
        return f"{deleted} tentative(s) supprimée(s), antérieures au {cutoff:%d/%m/%Y}."
