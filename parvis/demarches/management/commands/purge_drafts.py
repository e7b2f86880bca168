"""Delete abandoned drafts and their files: anonymous ones after 2 days (their session is gone),
account holders' after 180 days. Run daily by the scheduler, commune by commune in its scope
(issue 18 §2)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from parvis.background.periodic import PeriodicCommand
from parvis.communes import periodic, tenancy
from parvis.demarches.models import Demande, Status
from parvis.demarches.services import delete_draft

ANONYMOUS_DAYS = 2
ACCOUNT_DAYS = 180


class Command(PeriodicCommand):
    help = "Supprime les brouillons abandonnés (sans compte : 2 jours ; avec compte : 180 jours)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--commune", help="identifiant (slug) d'une seule commune (par défaut : toutes)"
        )

    def run(self, *args, **options) -> str:
        now = timezone.now()
        done = tenancy.for_each_commune(
            lambda _commune: _purge(now), periodic.communes_named(options["commune"])
        )
        return f"{sum(count for _commune, count in done)} brouillon(s) supprimé(s)."


def _purge(now) -> int:
    """The current commune's stale drafts (its scope adds commune_id to each query)."""
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
    return count
