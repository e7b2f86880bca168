"""The communes a periodic command works for (issue 18 §2): it works for each in turn, in its
scope (parvis.communes.tenancy.for_each_commune)."""

from django.core.management.base import CommandError

from parvis.communes.models import Commune


def communes_named(slug: str | None, *, active_only: bool = False) -> list[Commune]:
    """The one its `--commune SLUG` names (a CommandError when there is none), else every
    commune (`active_only`: every one online), by slug. One query."""
    if slug:
        named = list(Commune.objects.filter(slug=slug))
        if not named:
            raise CommandError(f"Commune inconnue : {slug}")
        return named
    communes = Commune.objects.order_by("slug")
    if active_only:
        communes = communes.filter(is_active=True)
    return list(communes)
