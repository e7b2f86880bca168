"""Delete the records of outgoing e-mails past their use: they hold addresses and subjects, kept
no longer than needed (RGPD). Sent ones after 30 days; failed ones after 90, time for the
operator to look into them. Run daily by the scheduler."""

from datetime import timedelta

from django.utils import timezone

from parvis.background.models import OutgoingEmail
from parvis.background.periodic import PeriodicCommand

SENT_DAYS = 30
FAILED_DAYS = 90


class Command(PeriodicCommand):
    help = "Supprime les e-mails envoyés depuis plus de 30 jours et en échec depuis plus de 90."

    def run(self, *args, **options) -> str:
        now = timezone.now()
        sent, _detail = OutgoingEmail.objects.filter(
            status=OutgoingEmail.Status.SENT, created_at__lt=now - timedelta(days=SENT_DAYS)
        ).delete()
        failed, _detail = OutgoingEmail.objects.filter(
            status=OutgoingEmail.Status.FAILED, created_at__lt=now - timedelta(days=FAILED_DAYS)
        ).delete()
        return f"{sent} e-mail(s) envoyé(s) et {failed} en échec supprimé(s)."
