"""The addresses of the citizen's side of « démarches »: a procedure's page, the wizard's steps,
its summary and confirmation, and the procedures filled in a page of their own."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from parvis.demarches.models import Demande, Procedure
from parvis.demarches.services_dossier import DOSSIER_SLUG

# Procedures filled in their own page, not through the wizard: slug → that page's URL name
# (« Créer une inscription » › « Dossier administratif », « Inscrire un enfant à une activité »).
OWN_PAGES = {
    DOSSIER_SLUG: "inscriptions:dossier_administratif",
    "inscription-activite": "activities:inscrire",
}


def login_url(commune, next_url: str) -> str:
    """The commune's login page, coming back to `next_url`."""
    login = reverse("accounts:connexion", kwargs={"commune": commune.slug})
    return f"{login}?{urlencode({'next': next_url})}"


def page_url(procedure: Procedure) -> str:
    """The procedure's page (what it asks, « Commencer »)."""
    return reverse(
        "demarches:demarche", kwargs={"commune": procedure.commune.slug, "slug": procedure.slug}
    )


def step_url(demande: Demande, step: int) -> str:
    """A step of the wizard; past the last one, the summary."""
    kwargs = {"commune": demande.commune.slug, "slug": demande.procedure.slug, "pk": demande.pk}
    if step > len(demande.definition["steps"]):
        return reverse("demarches:recapitulatif", kwargs=kwargs)
    return reverse("demarches:etape", kwargs={**kwargs, "step": step})


def resume_url(demande: Demande) -> str:
    """Where a draft goes on (the dashboard links unfinished drafts here)."""
    return step_url(demande, demande.current_step)


def confirmation_url(demande: Demande) -> str:
    return reverse(
        "demarches:confirmation",
        kwargs={"commune": demande.commune.slug, "slug": demande.procedure.slug, "pk": demande.pk},
    )
