"""Reads of the platform's own page, outside any commune: the list of hosted communes.

One deployment serves a thousand communes (issue 18): the list is searched and paginated in SQL,
so the page reads the same rows whatever their number. The search ignores case and accents on
SQLite and PostgreSQL alike through parvis.text's `fold` (what the resident typed) and `Fold` (the
names, in SQL): « saint etienne » finds « Saint-Étienne » without the `unaccent` extension.
"""

from __future__ import annotations

import re

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from parvis.communes.models import Commune
from parvis.text import Fold, fold

# What separates the words of a search: anything but letters and digits once folded (spaces,
# hyphens, apostrophes, control characters such as NUL, which PostgreSQL refuses in a string).
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def search_terms(query: str) -> list[str]:
    """« Saint-Étienne » → ["saint", "etienne"]: the words of a search, folded."""
    return [term for term in _SEPARATORS.split(fold(query)) if term]


def searched_communes(query: str = "") -> QuerySet[Commune]:
    """The communes online whose folded name contains every word of `query` (or whose postal code
    starts with it); all of them without a query. Those whose name starts with the first word come
    first, then by name. Only what the list shows is read (slug, name, postal code)."""
    communes = Commune.objects.filter(is_active=True).only("slug", "name", "postal_code")
    terms = search_terms(query)
    if not terms:
        return communes.order_by("name", "pk")
    communes = communes.alias(name_folded=Fold("name"))
    for term in terms:
        communes = communes.filter(Q(name_folded__contains=term) | Q(postal_code__startswith=term))
    return communes.alias(
        rank=Case(
            When(name_folded__startswith=terms[0], then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("rank", "name", "pk")
