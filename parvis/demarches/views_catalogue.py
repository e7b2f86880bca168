"""« Nouvelle démarche », under /<commune>/demarches/: the commune's procedures by category
(« LES DÉMARCHES »), searched with « votre recherche » without regard to accents or case."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from parvis.communes.links import url_if_exists
from parvis.demarches import selectors
from parvis.demarches.decorators import citizen
from parvis.demarches.links import OWN_PAGES, login_url, page_url
from parvis.demarches.models import Audience, Procedure
from parvis.text import fold

# The seed's categories, in its order; the others follow in alphabetical order.
CATEGORY_ORDER = [
    "Actes d'état civil",
    "Listes électorales",
    "Recensement citoyen",
    "Autorisation parentale",
    "Livret de famille",
    "Attestation de changement de domicile / d'hébergement",
    "Petite Enfance",
    "Seniors",
]
MAX_QUERY_LENGTH = 100


@dataclass
class Entry:
    procedure: Procedure
    url: str
    needs_login: bool


@dataclass
class Category:
    name: str
    anchor: str
    entries: list[Entry]


def _category_key(name: str) -> str:
    # A typographic apostrophe typed in the admin (« d’état ») ranks as the seed's « d'état ».
    return fold(name.replace("’", "'"))


def _category_rank(name: str) -> tuple[int, str]:
    order = [_category_key(category) for category in CATEGORY_ORDER]
    folded = _category_key(name)
    return (order.index(folded), "") if folded in order else (len(order), folded)


@require_GET
def catalogue(request):
    """« Nouvelle démarche »: the commune's procedures by category, searched without regard to
    accents or case. One query for the procedures, whatever their number."""
    commune = request.commune
    anonymous = citizen(request) is None
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    by_category: dict[str, list[Entry]] = {}
    for procedure in selectors.searched_procedures(commune=commune, query=query):
        if procedure.slug in OWN_PAGES:
            # Its own page, when it exists; hidden otherwise.
            url = url_if_exists(OWN_PAGES[procedure.slug], commune.slug)
            if url is None:
                continue
        else:
            url = page_url(procedure)
        needs_login = procedure.audience != Audience.ANYONE and anonymous
        by_category.setdefault(procedure.category, []).append(
            Entry(
                procedure=procedure,
                url=login_url(commune, url) if needs_login else url,
                needs_login=needs_login,
            )
        )
    names = sorted(by_category, key=_category_rank)
    categories = [
        Category(name=name, anchor=f"categorie-{n}", entries=by_category[name])
        for n, name in enumerate(names, start=1)
    ]
    return render(
        request,
        "demarches/citoyen/catalogue.html",
        {
            "categories": categories,
            "query": query,
            "count": sum(len(category.entries) for category in categories),
            "current_section": "demarches:catalogue",
        },
    )


urlpatterns = [path("", catalogue, name="catalogue")]
