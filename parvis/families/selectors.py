"""Reads of households, always scoped to one commune (the views add who asks: the agent's roles).

Searching is case- and accent-insensitive on SQLite and PostgreSQL alike, without storing anything
more: both sides go through parvis.text's `fold` — in Python for what the agent typed, in SQL
(`Fold`) for the rows; both databases find the same rows (no `unaccent` extension needed).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import translation

from parvis.accounts.models import AuditEntry
from parvis.communes.models import Commune, Service
from parvis.families.models import (
    AuthorisedPerson,
    Famille,
    FamilyAccess,
    MemberKind,
    Personne,
    ServiceKey,
)
from parvis.text import Fold, fold

# --- Families ------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"f?0*(\d{1,9})")


def _reference_number(term: str) -> int | None:
    """« F000001 », « f1 » or « 000001 » → 1."""
    match = _REFERENCE.fullmatch(term)
    return int(match.group(1)) if match else None


def search_familles(commune: Commune, query: str = "") -> QuerySet[Famille]:
    """The families of `commune` matching every word of `query` in their name, a member's name
    or e-mail, an account's e-mail or their reference (F000001); all of them without a query.
    Each result carries `responsables` and `children` (prefetched: the page costs the same
    whatever the number of families or members)."""
    families = Famille.objects.filter(commune=commune).alias(name_folded=Fold("name"))
    for term in fold(query).split():
        members = (
            Personne.objects.filter(commune=commune)
            .alias(
                last_folded=Fold("last_name"),
                first_folded=Fold("first_names"),
                email_folded=Fold("email"),
            )
            .filter(
                Q(last_folded__contains=term)
                | Q(first_folded__contains=term)
                | Q(email_folded__contains=term)
            )
            .values("famille_id")
        )
        accounts = (
            FamilyAccess.objects.filter(commune=commune)
            .alias(email_folded=Fold("user__email"))
            .filter(email_folded__contains=term)
            .values("famille_id")
        )
        condition = Q(name_folded__contains=term) | Q(pk__in=members) | Q(pk__in=accounts)
        number = _reference_number(term)
        if number is not None:
            condition |= Q(number=number)
        families = families.filter(condition)
    return families.order_by("name", "number").prefetch_related(
        Prefetch(
            "members",
            queryset=Personne.objects.filter(kind=MemberKind.RESPONSABLE).order_by(
                "last_name", "first_names"
            ),
            to_attr="responsables",
        ),
        Prefetch(
            "members",
            queryset=Personne.objects.filter(kind=MemberKind.ENFANT).order_by(
                "birth_date", "first_names"
            ),
            to_attr="children",
        ),
    )


def famille_file(commune: Commune, number: int) -> Famille:
    """A family of `commune` with everything its file shows (404 for another commune's):
    `responsables`, `children`, `authorised_people`, `accesses` (with their accounts and keys),
    `keys` (with their services and agents) and `payeur_effectif` (who the invoices name), in a
    fixed number of queries."""
    families = Famille.objects.filter(commune=commune).prefetch_related(
        Prefetch("members", queryset=responsables(), to_attr="responsables"),
        Prefetch(
            "members",
            queryset=Personne.objects.filter(kind=MemberKind.ENFANT).order_by(
                "birth_date", "first_names", "pk"
            ),
            to_attr="children",
        ),
        Prefetch(
            "authorised_people",
            queryset=AuthorisedPerson.objects.order_by("last_name", "first_name", "pk"),
        ),
        Prefetch(
            "accesses",
            queryset=FamilyAccess.objects.select_related(
                "user", "personne", "key__service"
            ).order_by("created_at", "pk"),
        ),
        Prefetch(
            "keys",
            queryset=ServiceKey.objects.select_related("service", "created_by", "used_by").order_by(
                "-created_at", "-pk"
            ),
        ),
    )
    famille = get_object_or_404(families, number=number)
    # « Payeur des factures », as the invoices name it.
    famille.payeur_effectif = payeur(famille, famille.responsables)
    return famille


def famille_by_number(commune: Commune, number: int) -> Famille:
    """A family of `commune`, nothing prefetched (404 for another commune's)."""
    return get_object_or_404(Famille.objects.filter(commune=commune), number=number)


def member_of(famille: Famille, pk: int) -> Personne:
    return get_object_or_404(
        Personne.objects.filter(commune=famille.commune_id, famille=famille), pk=pk
    )


def authorised_person_of(famille: Famille, pk: int) -> AuthorisedPerson:
    return get_object_or_404(
        AuthorisedPerson.objects.filter(commune=famille.commune_id, famille=famille), pk=pk
    )


def key_of(famille: Famille, pk: int) -> ServiceKey:
    return get_object_or_404(
        ServiceKey.objects.filter(commune=famille.commune_id, famille=famille).select_related(
            "service"
        ),
        pk=pk,
    )


def famille_journal(famille: Famille, *, limit: int = 100) -> list[AuditEntry]:
    """The latest changes of a family's file, newest first (one query)."""
    return list(
        AuditEntry.objects.filter(commune=famille.commune_id, famille_id=famille.pk)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def key_services(commune: Commune, *, kinds: frozenset[str] | None = None) -> QuerySet[Service]:
    """The services of `commune` that give families a personal key; only those of `kinds` when
    given (an agent's roles), all of them when None (an administrator)."""
    services = Service.objects.filter(commune=commune).exclude(key_label="")
    if kinds is not None:
        services = services.filter(kind__in=kinds)
    return services.order_by("position", "name")


def first_responsable_email(famille: Famille) -> str:
    """The e-mail a key goes to by default: the first responsable's that has one."""
    for personne in getattr(famille, "responsables", None) or famille.members.filter(
        kind=MemberKind.RESPONSABLE
    ).order_by("birth_date", "first_names", "pk"):
        if personne.email:
            return personne.email
    return ""


# --- Payeur des factures --------------------------------------------------------------------------


def responsables() -> QuerySet[Personne]:
    """Responsables as a family's file lists them (oldest first), each with `has_account` (an
    account acting for the family is linked to that person): what `payeur` chooses from."""
    return (
        Personne.objects.filter(kind=MemberKind.RESPONSABLE)
        .annotate(has_account=Exists(FamilyAccess.objects.filter(personne=OuterRef("pk"))))
        .order_by("birth_date", "first_names", "pk")
    )


def payeur(famille: Famille, members: list[Personne] | None = None) -> Personne | None:
    """« Payeur des factures »: the responsable chosen in the family file; while none is chosen
    (or the chosen one has left the household), the first one entered in the file whose account
    acts for the family, else the first one entered. `members`: the family's `responsables()`
    when already read (no query then); None for a family without any."""
    if members is None:
        members = list(responsables().filter(famille=famille))
    if not members:
        return None
    chosen = next((p for p in members if p.pk == famille.payeur_id), None)
    return chosen if chosen is not None else default_payeur(members)


def responsables_of(famille: Famille) -> list[Personne]:
    """The family's responsables as `responsables` lists them (one query)."""
    return list(responsables().filter(famille=famille))


def default_payeur(members: list[Personne]) -> Personne | None:
    """The payer while none is chosen: among `members` (`responsables()` rows), the first one
    entered in the file whose account acts for the family, else the first one entered."""
    if not members:
        return None
    holders = [p for p in members if getattr(p, "has_account", False)]
    return min(holders or members, key=lambda p: p.pk)


def full_name(personne: Personne) -> str:
    """« Madame Françoise DURAND »: civility, first names, name."""
    civility = personne.get_civility_display() if personne.civility else ""
    return " ".join(part for part in (civility, str(personne)) if part)


def payeur_name(famille: Famille) -> str:
    """The family's « Payeur des factures » as a payment records who paid (« Payé par »):
    written in the portal's language whatever the one of the page, since it is kept; "" for a
    family without responsable."""
    # Read again: the caller's row may predate a payer chosen since.
    chosen = payeur(Famille.objects.only("pk", "payeur_id").get(pk=famille.pk))
    if chosen is None:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        return full_name(chosen)[:200]
