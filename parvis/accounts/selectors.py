"""Reads for the citizen's account pages, always scoped to the commune of the URL (and to the
account that asks)."""

from __future__ import annotations

from parvis.accounts.models import User
from parvis.communes.models import Commune


def resettable_account(*, commune: Commune, pk: int) -> User | None:
    """The citizen account `pk` of `commune` whose password may be reset: active, not an
    agent's; None otherwise."""
    return User.objects.filter(pk=pk, commune=commune, is_active=True, is_staff=False).first()
