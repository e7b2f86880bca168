"""The personal-space navigation of the seed, showing only the entries whose page exists.

Later issues add their pages under these URL names; an entry appears as soon as its name resolves,
so the portal never shows a dead link.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from parvis.communes.links import url_if_exists

NAVIGATION = [
    ("accounts:accueil", _("Mon accueil")),
    ("demarches:catalogue", _("Nouvelle démarche")),
    ("portal:actualites", _("Actualités")),
    ("billing:documents", _("Édition de documents")),
    ("activities:index", _("Activités")),
    ("portal:infos_pratiques", _("Infos pratiques")),
    ("billing:mon_compte", _("Mon compte")),
]


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: str
    url: str


def navigation(commune_slug: str) -> tuple[NavEntry, ...]:
    """The entries whose page exists, for every page of the portal: worked out once per commune,
    language and URL configuration (seven `reverse` a page otherwise)."""
    return _navigation(
        commune_slug, get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    )


@lru_cache(maxsize=4096)
def _navigation(commune_slug: str, _language, _prefix, _urlconf) -> tuple[NavEntry, ...]:
    entries = []
    for url_name, label in NAVIGATION:
        url = url_if_exists(url_name, commune_slug)
        if url is not None:
            entries.append(NavEntry(url_name=url_name, label=str(label), url=url))
    return tuple(entries)
