"""Reads of the administrator's personal data pages (rgpd.guichet.views), scoped to the commune
in the URL: its retention policy and its last retention runs. `administrateur_required` lets
only the commune's administrator in."""

from __future__ import annotations

from parvis.communes.models import Commune
from parvis.rgpd.models import RetentionPolicy, RetentionRun

RUNS_SHOWN = 10


def retention_policy(*, commune: Commune) -> RetentionPolicy | None:
    """The commune's retention policy with who turned the deletions on, or None (one query)."""
    return RetentionPolicy.objects.filter(commune=commune).select_related("enabled_by").first()


def recent_runs(*, commune: Commune, limit: int = RUNS_SHOWN) -> list[RetentionRun]:
    """The commune's last `limit` retention runs, newest first (one query)."""
    return list(RetentionRun.objects.filter(commune=commune)[:limit])
