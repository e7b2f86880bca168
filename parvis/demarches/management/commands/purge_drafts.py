"""Delete abandoned drafts and their files: anonymous ones after 2 days (their session is gone),
account holders' after 180 days. Run daily by the scheduler."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.demarches.models import Demande, Status
from parvis.demarches.services import delete_draft

ANONYMOUS_DAYS = 2
ACCOUNT_DAYS = 180


class Command(PeriodicCommand):
    help = "Supprime les brouillons abandonnés (sans compte : 2 jours ; avec compte : 180 jours)."

    def run(self, *args, **options) -> str:
        now = timezone.now()
        stale = Demande.objects.filter(status=Status.BROUILLON).filter(
            requester__isnull=True, updated_at__lt=now - timedelta(days=ANONYMOUS_DAYS)
        ) | Demande.objects.filter(
            status=Status.BROUILLON,
            requester__isnull=False,
            updated_at__lt=now - timedelta(days=ACCOUNT_DAYS),
        )
        count = 0
        for demande in stale.iterator():
            with transaction.atomic():
                delete_draft(demande=demande)
            count += 1
        return f"{count} brouillon(s) supprimé(s)."
