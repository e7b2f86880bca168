"""The guichet shell's part of every page an agent sees: who is logged in and the agents'
navigation instead of the citizens'. Each app's agent pages (`parvis/<app>/guichet/`) render
with plain `render`: their decorators (parvis.accounts.agents) set `request.agent`, and this
processor, listed after the portal's, gives the page its guichet navigation."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from parvis.accounts.agents import BUILDER_ROLES, REGIE_ROLES
from parvis.portal.navigation import NavEntry


def guichet(request):
    agent = getattr(request, "agent", None)
    if agent is None:
        return {}
    return {"agent": agent, "nav_entries": _navigation(request)}


def _navigation(request) -> list[NavEntry]:
    slug = request.commune.slug
    entries = [
        NavEntry("backoffice:accueil", _("Familles"), reverse("backoffice:accueil", args=[slug])),
        NavEntry("backoffice:demandes", _("Demandes"), reverse("backoffice:demandes", args=[slug])),
        NavEntry(
            "backoffice:documents",
            _("Documents à valider"),
            reverse("backoffice:documents", args=[slug]),
        ),
        NavEntry(
            "guichet_activites:activites",
            _("Activités"),
            reverse("guichet_activites:activites", args=[slug]),
        ),
    ]
    if request.agent.roles & REGIE_ROLES:
        entries += [
            NavEntry(
                "guichet_regie:impayes", _("Régie"), reverse("guichet_regie:impayes", args=[slug])
            ),
            NavEntry(
                "guichet_regie:facturations",
                _("Facturation"),
                reverse("guichet_regie:facturations", args=[slug]),
            ),
        ]
    if request.agent.is_administrateur:
        entries.append(
            NavEntry(
                "guichet_rgpd:conservation",
                _("Données personnelles"),
                reverse("guichet_rgpd:conservation", args=[slug]),
            )
        )
    if request.agent.roles & BUILDER_ROLES:
        entries.append(
            NavEntry(
                "backoffice:concepteur",
                _("Concepteur de démarches"),
                reverse("backoffice:concepteur", args=[slug]),
            )
        )
    if request.agent.can_edit_families:
        entries.append(
            NavEntry(
                "backoffice:famille_creer",
                _("Créer une famille"),
                reverse("backoffice:famille_creer", args=[slug]),
            )
        )
    return entries
