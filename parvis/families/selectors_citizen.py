"""Reads for a citizen's own space: the households their account is linked to (through
FamilyAccess), the keys that linked them, and the export of their data.

Every function takes the commune of the request *and* the account, and returns only what that
account may see: the families it is linked to in that commune, never another family. The agents'
back office has its own selectors (families/selectors.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone

from parvis.accounts.models import AuditEntry, User
from parvis.communes.models import Commune, Service, ServiceKind
from parvis.communes.prepared import Prepared
from parvis.families.models import (
    AuthorisedPerson,
    Famille,
    FamilyAccess,
    MemberKind,
    Personne,
    ServiceKey,
)
from parvis.ids import parse_id

EXPORT_FORMAT = "parvis.donnees-personnelles/1"
# The services a family asks to change the household file (children, address) until the
# « démarches » feature turns such changes into requests.
HOUSEHOLD_SERVICE_KINDS = (ServiceKind.ENFANCE, ServiceKind.SCOLAIRE)


@dataclass
class Household:
    famille: Famille
    responsables: list[Personne] = field(default_factory=list)
    children: list[Personne] = field(default_factory=list)
    authorised_people: list[AuthorisedPerson] = field(default_factory=list)


def _belongs(user: User, commune: Commune) -> bool:
    return user.is_authenticated and user.commune_id == commune.pk


def _linked_families(*, user: User, commune: Commune):
    if not _belongs(user, commune):
        return Famille.objects.none()
    linked = FamilyAccess.objects.filter(user=user, commune=commune).values("famille_id")
    return Famille.objects.filter(commune=commune, pk__in=linked).order_by("name", "number")


def linked_children_q(*, user: User, commune: Commune, prefix: str = "") -> Q:
    """The children an account sees in its activities' pages, as a filter on Personne (or on a
    relation to it, `prefix` such as "child__"): those of its families, and those a family of
    it shares with another household (families.SharedCustody, « garde partagée »)."""
    linked = _linked_families(user=user, commune=commune)
    return Q(**{f"{prefix}famille__in": linked}) | Q(
        **{f"{prefix}custody__other_famille__in": linked}
    )


def households(*, user: User, commune: Commune) -> list[Household]:
    """The households `user` is linked to in `commune`, with members and the people authorised
    to pick the children up: three queries whatever the number of families or children."""
    families = _linked_families(user=user, commune=commune).prefetch_related(
        Prefetch("members", queryset=Personne.objects.order_by("kind", "birth_date", "pk")),
        Prefetch(
            "authorised_people",
            queryset=AuthorisedPerson.objects.order_by("last_name", "first_name", "pk"),
        ),
    )
    result = []
    for famille in families:
        household = Household(
            famille=famille, authorised_people=list(famille.authorised_people.all())
        )
        for member in famille.members.all():
            if member.kind == MemberKind.ENFANT:
                household.children.append(member)
            else:
                household.responsables.append(member)
        result.append(household)
    return result


def household_services(*, commune: Commune) -> list[Service]:
    """Whom to contact to change the household file: the commune's enfance and scolaire
    services."""
    return list(Service.objects.filter(commune=commune, kind__in=HOUSEHOLD_SERVICE_KINDS))


# « Signalement d'un changement de coordonnées » is a procedure of démarches, which families
# does not import: démarches registers how its page is found (DemarchesConfig.ready()).
_COORDINATES_REQUEST: list[Callable] = []  # at most one: the last registered


def register_coordinates_request(finder: Callable) -> None:
    """`finder(commune=)` returns the address of the commune's change-of-coordinates request,
    or None when it offers none (ready() may run more than once: idempotent)."""
    _COORDINATES_REQUEST[:] = [finder]


def coordinates_request_url(*, commune: Commune) -> str | None:
    """Where a family asks to change its address, phone or e-mail; None where the commune turned
    it off (Commune.changement_adresse_en_ligne) or offers no such request: the page then says
    whom to call instead."""
    if not commune.changement_adresse_en_ligne or not _COORDINATES_REQUEST:
        return None
    return _COORDINATES_REQUEST[0](commune=commune)


def key_services(*, commune: Commune) -> list[Service]:
    """The services that give families a personal key (« Clé Espace Citoyens Enfance »)."""
    return list(Service.objects.filter(commune=commune).exclude(key_label=""))


def has_family(*, user: User, commune: Commune) -> bool:
    """The account is linked to at least one family of `commune`."""
    return _belongs(user, commune) and (
        FamilyAccess.objects.filter(user=user, commune=commune).exists()
    )


def family_links(*, user: User, commune: Commune) -> list[FamilyAccess]:
    """The account's links to families, with the key (and its service) that made each."""
    if not _belongs(user, commune):
        return []
    return list(
        FamilyAccess.objects.filter(user=user, commune=commune)
        .select_related("famille", "key__service")
        .order_by("famille__name", "famille__number", "pk")
    )


# « Mon espace »'s two reads (families.views_espace.accueil, on every login of the rush), their SQL
# compiled once per thread (parvis.communes.prepared, issue 23): the ORM compiled the links with
# their families and the prefetch of their members on every request. The commune is the scope's
# (each commune table's manager, the join's commune_id = commune_id), never named here: a
# statement compiled for one commune runs for the next with its own id.
_ACCESSES = Prepared(
    lambda user_id: (
        FamilyAccess.objects.filter(user_id=user_id)
        .select_related("famille")
        .order_by("famille__name", "famille__number")
    )
)
_MEMBERS = Prepared(lambda famille_ids: Personne.objects.filter(famille_id__in=famille_ids))


def family_accesses(*, user: User, commune: Commune) -> list[FamilyAccess]:
    """The account's links to the families of `commune`, each with its family and the family's
    members (`access.famille.members.all()`, in the members' order, without a query), by the
    families' name and number: two queries whatever their number (one without a link), each
    compiled once. The rows and objects of `user.family_accesses.filter(commune=commune)
    .select_related("famille").prefetch_related("famille__members")` (each link's `user` is
    `user`, each member's `famille` its family), which « Mon espace » read before."""
    accesses = _ACCESSES.all(user.pk, commune_id=commune.pk)
    if not accesses:
        return accesses
    cache_user = FamilyAccess.user.field.set_cached_value
    members = {access.famille_id: [] for access in accesses}
    for access in accesses:
        cache_user(access, user)
    famille_ids = tuple(sorted(members))
    for member in _MEMBERS.all(famille_ids, commune_id=commune.pk):
        members[member.famille_id].append(member)
    cache_famille = Personne.famille.field.set_cached_value
    for access in accesses:
        famille = access.famille
        for member in members[famille.pk]:
            cache_famille(member, famille)
        # What prefetch_related leaves (django.db.models.query.prefetch_one_level): the related
        # manager's own queryset, its rows already read, so that `famille.members.filter(…)`
        # still reads this family's members only.
        queryset = famille.members.get_queryset()
        queryset._result_cache = members[famille.pk]
        queryset._prefetch_done = True
        famille._prefetched_objects_cache = {"members": queryset}
    return accesses


def family_link(*, user: User, commune: Commune, access_id) -> FamilyAccess | None:
    """One of the account's own links, None for anything else (another account's link, another
    commune's, a malformed id)."""
    if not _belongs(user, commune):
        return None
    try:
        access_id = int(access_id)
    except (TypeError, ValueError):
        return None
    return (
        FamilyAccess.objects.filter(pk=access_id, user=user, commune=commune)
        .select_related("famille")
        .first()
    )


# --- The rows a family may edit itself (when its commune allows it) ------------------------------
# Each takes the family's number as the account sees it (« Dossier F000001 ») and the row's id, and
# returns None unless the row belongs to that family, the family to the commune and the account to
# the family: an id of another family or another commune reaches nothing.


def linked_famille(*, user: User, commune: Commune, number) -> Famille | None:
    """One of the families the account is linked to in `commune`, by its number."""
    number = parse_id(number)
    if number is None:
        return None
    return _linked_families(user=user, commune=commune).filter(number=number).first()


def authorised_person(*, user: User, commune: Commune, number, pk) -> AuthorisedPerson | None:
    """A person authorised to pick up the children of one of the account's families."""
    number, pk = parse_id(number), parse_id(pk)
    if number is None or pk is None:
        return None
    return (
        AuthorisedPerson.objects.filter(
            pk=pk,
            commune=commune,
            famille__number=number,
            famille__in=_linked_families(user=user, commune=commune),
        )
        .select_related("famille", "commune")
        .first()
    )


def child(*, user: User, commune: Commune, number, pk) -> Personne | None:
    """A child (never a responsable) of one of the account's families."""
    number, pk = parse_id(number), parse_id(pk)
    if number is None or pk is None:
        return None
    return (
        Personne.objects.filter(
            pk=pk,
            commune=commune,
            kind=MemberKind.ENFANT,
            famille__number=number,
            famille__in=_linked_families(user=user, commune=commune),
        )
        .select_related("famille", "commune")
        .first()
    )


# --- Export (« Télécharger mes données ») ---------------------------------------------------------


def _iso(value):
    return value.isoformat() if value is not None else None


def _account(user: User) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "pending_email": user.pending_email,
        "email_confirmed_at": _iso(user.email_confirmed_at),
        "family_code": user.family_code,
        "civility": user.civility,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "address": user.address,
        "postal_code": user.postal_code,
        "city": user.city,
        "phone": user.phone,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "previous_login": _iso(user.previous_login),
    }


def _member(personne: Personne) -> dict:
    return {
        "kind": personne.kind,
        "civility": personne.civility,
        "last_name": personne.last_name,
        "first_names": personne.first_names,
        "birth_date": _iso(personne.birth_date),
        "email": personne.email,
        "phone": personne.phone,
        "school": personne.school,
        "class_name": personne.class_name,
        "level": personne.level,
        "has_pai": personne.has_pai,
        "health_notes": personne.health_notes,
    }


def _key(key: ServiceKey, user: User) -> dict:
    # Never the digest; not who else used it either, only whether this account did.
    return {
        "service": key.service.key_label or key.service.name,
        "hint": key.hint,
        "created_at": _iso(key.created_at),
        "used_at": _iso(key.used_at),
        "used_by_this_account": key.used_by_id == user.pk,
        "revoked_at": _iso(key.revoked_at),
    }


def export_data(*, user: User, commune: Commune) -> dict:
    """Everything Parvis holds about the account and the households it is linked to, as plain
    JSON-ready data (machine-readable, for the right of access and portability)."""
    if not _belongs(user, commune):
        raise PermissionError("not an account of this commune")
    links = {access.famille_id: access for access in family_links(user=user, commune=commune)}
    families = _linked_families(user=user, commune=commune).prefetch_related(
        Prefetch("members", queryset=Personne.objects.order_by("kind", "birth_date", "pk")),
        Prefetch(
            "authorised_people",
            queryset=AuthorisedPerson.objects.order_by("last_name", "first_name", "pk"),
        ),
        Prefetch(
            "keys", queryset=ServiceKey.objects.select_related("service").order_by("created_at")
        ),
    )
    audit_entries = (
        AuditEntry.objects.filter(commune=commune)
        .filter(Q(actor=user) | Q(target_type=User._meta.model_name, target_id=str(user.pk)))
        .order_by("at", "pk")
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "commune": {"slug": commune.slug, "name": commune.name},
        "account": _account(user),
        "families": [
            {
                "reference": famille.reference,
                "name": famille.name,
                "address": famille.address,
                "postal_code": famille.postal_code,
                "city": famille.city,
                "linked_at": _iso(links[famille.pk].created_at) if famille.pk in links else None,
                "members": [_member(member) for member in famille.members.all()],
                "authorised_people": [
                    {
                        "last_name": person.last_name,
                        "first_name": person.first_name,
                        "phone": person.phone,
                        "relationship": person.relationship,
                    }
                    for person in famille.authorised_people.all()
                ],
                "service_keys": [_key(key, user) for key in famille.keys.all()],
            }
            for famille in families
        ],
        "audit": [
            {
                "at": _iso(entry.at),
                "actor": entry.actor_label,
                "action": entry.action,
                "target": entry.target_label,
                "changes": entry.changes,
            }
            for entry in audit_entries
        ],
    }
