"""Who may do what at the guichet (the agents' side of every app).

An agent is an active staff account of the commune in the URL holding at least one AgentRole
there. Every role reads the commune's family files (they all need them); only the roles that keep
the files (enfance, scolaire) and the administrator change them; a service key is generated or
revoked only for a service whose kind one of the agent's roles covers (the administrator covers
every service of the commune).

Each app's agent pages (`parvis/<app>/guichet/`) guard their views with these decorators; the
guichet shell (`parvis.backoffice`) adds the agents' navigation to every page an agent sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from parvis.accounts.models import AgentRole, User
from parvis.communes.models import Commune, Service

FAMILY_EDITOR_ROLES = frozenset(
    {AgentRole.Role.ENFANCE, AgentRole.Role.SCOLAIRE, AgentRole.Role.ADMINISTRATEUR}
)


@dataclass(frozen=True)
class Agent:
    user: User
    roles: frozenset[str]

    @property
    def is_administrateur(self) -> bool:
        return AgentRole.Role.ADMINISTRATEUR in self.roles

    @property
    def can_edit_families(self) -> bool:
        return bool(self.roles & FAMILY_EDITOR_ROLES)

    @property
    def service_kinds(self) -> frozenset[str] | None:
        """The kinds of service this agent works for; None for all (administrator)."""
        return None if self.is_administrateur else self.roles

    def covers(self, service: Service) -> bool:
        return self.is_administrateur or service.kind in self.roles

    @property
    def role_labels(self) -> list[str]:
        return [str(label) for value, label in AgentRole.Role.choices if value in self.roles]


def agent_roles(user: User, commune: Commune) -> frozenset[str]:
    """The roles `user` holds in `commune` (one query)."""
    return frozenset(
        AgentRole.objects.filter(user=user, commune=commune).values_list("role", flat=True)
    )


def agent_of(user, commune: Commune | None) -> Agent | None:
    """`user` as an agent of `commune`, or None: not logged in, inactive, not staff, of another
    commune (or the operator, of none), or without any role there."""
    if (
        commune is None
        or not user.is_authenticated
        or not user.is_active
        or not user.is_staff
        or user.commune_id != commune.pk
    ):
        return None
    roles = agent_roles(user, commune)
    return Agent(user=user, roles=roles) if roles else None


def login_url(request) -> str:
    login = reverse("backoffice:connexion", kwargs={"commune": request.commune.slug})
    return f"{login}?{urlencode({'next': request.get_full_path()})}"


def agent_required(view):
    """A logged-in agent of the commune in the URL (set as `request.agent`). Anonymous visitors
    go to the guichet's login page; anyone else logged in (a citizen, an agent of another
    commune, the operator) gets a 404: the guichet does not say it exists."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(login_url(request))
        agent = agent_of(request.user, request.commune)
        if agent is None:
            raise Http404
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapper


def forbidden(request, message: str):
    return render(
        request,
        "guichet/interdit.html",
        {"message": message, "nav_entries": []},
        status=403,
    )


def family_editor_required(view):
    """An agent whose roles may change family files; other agents get a 403 page."""

    @agent_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.agent.can_edit_families:
            return forbidden(
                request,
                _("Votre rôle permet de consulter les dossiers des familles, pas de les modifier."),
            )
        return view(request, *args, **kwargs)

    return wrapper


REGIE_ROLES = frozenset({AgentRole.Role.REGIE, AgentRole.Role.ADMINISTRATEUR})


def regie_required(view):
    """An agent of the régie (or the administrator); other agents get a 403 page."""

    @agent_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.agent.roles & REGIE_ROLES:
            return forbidden(request, _("Ces pages sont celles de la régie."))
        return view(request, *args, **kwargs)

    return wrapper


def administrateur_required(view):
    """The commune's administrator (its DPO's pages: retention, registre); other agents get a
    403 page."""

    @agent_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.agent.is_administrateur:
            return forbidden(request, _("Ces pages sont celles de l'administrateur de la commune."))
        return view(request, *args, **kwargs)

    return wrapper


# « Concepteur de démarches » (issue 21): builds the commune's procedures at the guichet; the
# administrator builds them too.
BUILDER_ROLE = AgentRole.Role.CONCEPTEUR
BUILDER_ROLES = frozenset({BUILDER_ROLE, AgentRole.Role.ADMINISTRATEUR})


def builder_required(view):
    """A « concepteur de démarches » (or the administrator); other agents get a 403 page."""

    @agent_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.agent.roles & BUILDER_ROLES:
            return forbidden(request, _("Ces pages sont celles des concepteurs de démarches."))
        return view(request, *args, **kwargs)

    return wrapper
